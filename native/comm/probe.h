// Checks that the host transports can work here: POSIX shared memory and TCP sockets.
#pragma once

#include <string>

namespace joule::comm {

// Each returns an empty string when usable, else the reason.
std::string ProbeSharedMemory();
std::string ProbeTcp();

}  // namespace joule::comm
