#ifndef CURLASIO_TEST_INTEGRATION_PEER_PROCESS_HPP
#define CURLASIO_TEST_INTEGRATION_PEER_PROCESS_HPP

// A real server from a Debian package (nghttpd, tinyproxy, gunicorn) or a
// scripted one (python3-h2) run as a child process on a loopback port, for
// the cases where a real peer matters.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace curlasio::test {

// A port that was free a moment ago (the programs cannot report the one they got).
inline unsigned short free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

inline bool accepts_connections(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

/// Runs `program` with the arguments `args_for(port)` until it accepts
/// connections on 127.0.0.1:port (a few tries, in case another process took
/// the port first); port() is 0 when it never did. SIGTERM and reaped on
/// destruction. Its output goes to /dev/null.
class peer_process {
public:
    peer_process(std::string program, const std::function<std::vector<std::string>(unsigned short)>& args_for)
        : program_(std::move(program)) {
        if (!installed())
            return;
        for (int attempt = 0; attempt < 3 && !port_; ++attempt) {
            const unsigned short port = free_loopback_port();
            std::vector<std::string> args = args_for(port);
            args.insert(args.begin(), program_);
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            pid_ = ::fork();
            if (pid_ == 0) {
                // A test that crashes or is killed takes its peer with it,
                // rather than leave a server holding a port for good.
                ::prctl(PR_SET_PDEATHSIG, SIGTERM);
                // dup2, not freopen: freopen would first flush the stdio
                // buffers copied from the parent, printing its output twice.
                const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
                ::dup2(null, STDOUT_FILENO);
                ::dup2(null, STDERR_FILENO);
                ::execv(program_.c_str(), argv.data());
                ::_exit(127);
            }
            for (int i = 0; i < 500 && !port_; ++i) { // up to 5 s
                if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                    pid_ = -1; // it exited: the port was taken, or it failed
                    break;
                }
                if (accepts_connections(port))
                    port_ = port;
                else
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
    }
    /// Runs `program args...`, which picks its own port and prints it on
    /// stdout, in a line ending in ":PORT" (as beast_proxy's "listening on
    /// 127.0.0.1:PORT"); port() is 0 when no such line came within 5 s. Its
    /// stderr is the test's.
    struct printed_port_t {};
    static constexpr printed_port_t printed_port{};
    peer_process(std::string program, std::vector<std::string> args, printed_port_t)
        : program_(std::move(program)) {
        int out[2];
        if (!installed() || ::pipe2(out, O_CLOEXEC) != 0)
            return;
        args.insert(args.begin(), program_);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            ::dup2(out[1], STDOUT_FILENO);
            ::execv(program_.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = out[0];
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (pid_ > 0 && !port_ && std::chrono::steady_clock::now() < deadline) {
            pollfd p{stdout_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0)
                continue;
            char c;
            if (::read(stdout_, &c, 1) != 1)
                break; // it exited
            if (c != '\n') {
                line += c;
            } else if (const auto colon = line.rfind(':'); colon != std::string::npos) {
                port_ = static_cast<unsigned short>(std::atoi(line.c_str() + colon + 1));
                line.clear();
            }
        }
    }
    ~peer_process() { stop(); }

    /// SIGTERM, then its exit status as waitpid reports it, once it ended
    /// within `limit`; -1 when it did not (it is then killed) or had been
    /// stopped already.
    int stop(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        int status = -1;
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            const auto deadline = std::chrono::steady_clock::now() + limit;
            while (::waitpid(pid_, &status, WNOHANG) == 0) {
                if (std::chrono::steady_clock::now() > deadline) {
                    ::kill(pid_, SIGKILL);
                    ::waitpid(pid_, nullptr, 0);
                    status = -1;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            pid_ = -1;
        }
        if (stdout_ >= 0)
            ::close(stdout_);
        stdout_ = -1;
        return status;
    }
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;

    bool installed() const { return ::access(program_.c_str(), X_OK) == 0; }
    const std::string& program() const { return program_; }
    unsigned short port() const { return port_; }
    pid_t pid() const { return pid_; }

private:
    std::string program_;
    pid_t pid_ = -1;
    int stdout_ = -1;
    unsigned short port_ = 0;
};

/// Debian's tinyproxy in the foreground on a loopback port, its
/// configuration written into `dir`; it stamps what it forwards with
/// "Via: ... curlasio-test-proxy".
inline peer_process tinyproxy(const std::string& dir) {
    return peer_process("/usr/bin/tinyproxy", [&](unsigned short port) {
        const std::string conf = dir + "/tinyproxy.conf";
        std::ofstream(conf) << "Port " << port << "\nListen 127.0.0.1\nTimeout 30\n"
                            << "MaxClients 64\nAllow 127.0.0.1\nLogLevel Critical\n"
                            << "ViaProxyName \"curlasio-test-proxy\"\n";
        return std::vector<std::string>{"-d", "-c", conf};
    });
}

/// Skips the current case, saying why, when the peer's program is missing;
/// fails it when the program is there but did not start.
#define CURLASIO_REQUIRE_PEER(peer, package)                                                                 \
    if (!(peer).installed()) {                                                                               \
        BOOST_TEST_MESSAGE("skipped: " << (peer).program() << " not installed (Debian " package ")");        \
        return;                                                                                              \
    }                                                                                                        \
    BOOST_TEST_REQUIRE((peer).port() != 0, (peer).program() << " did not start")

} // namespace curlasio::test

#endif
