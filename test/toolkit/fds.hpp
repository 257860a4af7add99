#ifndef CURLASIO_TEST_TOOLKIT_FDS_HPP
#define CURLASIO_TEST_TOOLKIT_FDS_HPP

// This process's descriptors and connections, for leak checks. Needs neither
// Boost.Test nor curlasio: the soak program and the support self-check use it.

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <set>

namespace curlasio::test {

// Number of entries in /proc/self/fd, not counting the descriptor that
// opendir itself holds while listing. Returns 0 if /proc is unavailable.
inline std::size_t open_fd_count() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir)
        return 0;
    std::size_t n = 0;
    while (const dirent* e = ::readdir(dir)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            ++n;
    }
    ::closedir(dir);
    return n > 0 ? n - 1 : 0;
}

// Client-side sockets of this process connected to 127.0.0.1:port. Unlike
// the server's count it drops the moment libcurl closes its connection.
// Sockets, not fds: the engine waits on a duplicate of each of libcurl's.
inline std::size_t connections_to(unsigned short port) {
    std::set<ino_t> sockets;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir)
        return 0;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.')
            continue;
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        const int fd = std::atoi(e->d_name);
        struct stat st {};
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 && peer.ss_family == AF_INET &&
            ntohs(reinterpret_cast<const sockaddr_in&>(peer).sin_port) == port && ::fstat(fd, &st) == 0)
            sockets.insert(st.st_ino);
    }
    ::closedir(dir);
    return sockets.size();
}

} // namespace curlasio::test

#endif
