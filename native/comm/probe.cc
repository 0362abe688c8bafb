// shm_open and socket probes for the capability report.
#include "comm/probe.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace joule::comm {

std::string ProbeSharedMemory() {
  std::string name = "/joule-probe-" + std::to_string(getpid());
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return std::string("shm_open failed: ") + std::strerror(errno) + " (is /dev/shm mounted and writable?)";
  std::string reason;
  if (ftruncate(fd, 4096) != 0) reason = std::string("ftruncate on /dev/shm failed: ") + std::strerror(errno);
  close(fd);
  shm_unlink(name.c_str());
  return reason;
}

std::string ProbeTcp() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::string("socket(AF_INET) failed: ") + std::strerror(errno);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reason;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    reason = std::string("bind to loopback failed: ") + std::strerror(errno);
  }
  close(fd);
  return reason;
}

}  // namespace joule::comm
