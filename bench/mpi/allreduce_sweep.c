/* The Open MPI side of the allreduce comparison: the same sweep as `joule bench allreduce` (float32
 * sum, out-of-place, sizes from -b to -e times -f, -w warm-up and -n timed iterations), timed with
 * MPI_Wtime around back-to-back calls, the slowest rank's time reported. Prints one JSON line per size. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long parse_bytes(const char* text) {
  char* end = NULL;
  long value = strtol(text, &end, 10);
  if (*end == 'K' || *end == 'k') value *= 1024L;
  else if (*end == 'M' || *end == 'm') value *= 1024L * 1024L;
  else if (*end == 'G' || *end == 'g') value *= 1024L * 1024L * 1024L;
  return value;
}

int main(int argc, char** argv) {
  long min_bytes = 8, max_bytes = 128L << 20, factor = 2;
  int iters = 20, warmup = 5;
  MPI_Init(&argc, &argv);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-b")) min_bytes = parse_bytes(argv[i + 1]);
    else if (!strcmp(argv[i], "-e")) max_bytes = parse_bytes(argv[i + 1]);
    else if (!strcmp(argv[i], "-f")) factor = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "-n")) iters = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-w")) warmup = atoi(argv[i + 1]);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  float* in = malloc(max_bytes > 4 ? max_bytes : 4);
  float* out = malloc(max_bytes > 4 ? max_bytes : 4);
  for (long i = 0; i < max_bytes / 4; ++i) in[i] = (float)((i * 5 + rank * 3) % 7 - 3);
  for (long bytes = min_bytes; bytes <= max_bytes; bytes *= factor) {
    int count = (int)(bytes / 4);
    for (int i = 0; i < warmup; ++i) MPI_Allreduce(in, out, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    for (int i = 0; i < iters; ++i) MPI_Allreduce(in, out, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double seconds = MPI_Wtime() - start, slowest = 0;
    MPI_Allreduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    /* Check the result once, as the joule side does. */
    long wrong = 0;
    for (long i = 0; i < count; ++i) {
      float want = 0;
      for (int r = 0; r < size; ++r) want += (float)((i * 5 + r * 3) % 7 - 3);
      if (out[i] != want) ++wrong;
    }
    double time_us = slowest / iters * 1e6;
    double busbw = (double)count * 4 / time_us / 1e3 * 2.0 * (size - 1) / size;
    if (rank == 0) printf("{\"bytes\":%ld,\"timeUs\":%.3f,\"busbwGBs\":%.4f,\"wrong\":%ld}\n", (long)count * 4, time_us, busbw, wrong);
    if (factor <= 1) break;
  }
  free(in);
  free(out);
  MPI_Finalize();
  return 0;
}
