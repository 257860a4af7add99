// Counts this process's open file descriptors, for leak checks in tests.
#pragma once

#include <cstddef>
#include <cstring>

#include <dirent.h>

namespace curlasio::test {

// Number of entries in /proc/self/fd, not counting the descriptor that
// opendir itself holds while listing. Returns 0 if /proc is unavailable.
inline std::size_t open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;
}

}  // namespace curlasio::test
