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

// This process's descriptors, by what they are, for a process whose only
// TCP peer is its own loopback server on `port` (the soak program): how many
// descriptors a client holds depends on how many connections libcurl keeps
// cached (three fds each: libcurl's, the engine's duplicate it waits on, the
// server's end), which is libcurl's business; what is left must not change.
struct fd_census {
    std::size_t total = 0;
    std::size_t server = 0;         // TCP sockets on `port`: the listener and its accepted ends
    std::size_t client = 0;         // other TCP sockets: client ends and the engine's duplicates
    std::size_t client_sockets = 0; // distinct sockets among `client`
    std::size_t other() const noexcept { return total - server - client; }
};

inline fd_census take_fd_census(unsigned short port) {
    fd_census c;
    std::set<ino_t> client_sockets;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir)
        return c;
    const int own = ::dirfd(dir);
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.')
            continue;
        const int fd = std::atoi(e->d_name);
        if (fd == own)
            continue;
        ++c.total;
        // By the local address, which a socket keeps after either end
        // closed (getpeername fails then).
        sockaddr_storage local{};
        socklen_t len = sizeof local;
        int type = 0;
        socklen_t type_len = sizeof type;
        struct stat st {};
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 ||
            (local.ss_family != AF_INET && local.ss_family != AF_INET6) ||
            ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM ||
            ::fstat(fd, &st) != 0)
            continue;
        // sin_port and sin6_port are at the same offset.
        if (ntohs(reinterpret_cast<const sockaddr_in&>(local).sin_port) == port) {
            ++c.server;
        } else {
            ++c.client;
            client_sockets.insert(st.st_ino);
        }
    }
    ::closedir(dir);
    c.client_sockets = client_sockets.size();
    return c;
}

} // namespace curlasio::test

#endif
