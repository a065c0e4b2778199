#include "core/open_file.h"

#include <unistd.h>

namespace pillar::core {

OpenFile::~OpenFile() {
  if (fd >= 0) ::close(fd);
}

}  // namespace pillar::core
