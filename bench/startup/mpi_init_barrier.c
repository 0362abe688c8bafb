/* Start-up reference for `npm run bench:startup`: the least an MPI job does (init, one barrier, finalize). */
#include <mpi.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
