// The interface every host transport implements; the engine runs its operations on its own thread.
#pragma once

#include <string>

#include "comm/types.h"

namespace joule::comm {

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs one operation to completion on the calling (communicator) thread; throws CommError.
  virtual OpResult Run(const Op& op) = 0;
  // Ends any in-flight and every later operation with JOULE_ABORTED; callable from any thread.
  virtual void Abort(const std::string& reason) = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
};

}  // namespace joule::comm
