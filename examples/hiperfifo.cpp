// hiperfifo: fetches every URL written to a named pipe, as soon as it arrives.
// The Asio counterpart of libcurl's hiperfifo.c example.
//
//   hiperfifo [FIFO_PATH]            (default: hiper.fifo)
//
// Then, from another shell, one URL per line:
//
//   echo http://127.0.0.1:8080/ > hiper.fifo
//   printf '%s\n' http://127.0.0.1:8080/a http://127.0.0.1:8080/b > hiper.fifo
//   echo quit > hiper.fifo       # stop reading; running transfers finish
//
// SIGINT or SIGTERM stops it too, and cancels the running transfers. A FIFO
// that hiperfifo created is removed when it exits. Exit status 0 after a
// clean stop, 1 when it cannot start.
//
// Where fetch.cpp uses coroutines, this one uses plain callbacks: the FIFO is
// an asio::posix::stream_descriptor read line by line with async_read_until,
// each line starts a curlasio::async_fetch, and the program ends when
// nothing is left to wait for, with no loop of its own.

#include <curlasio/curlasio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace asio = boost::asio;
using curlasio::error_code;

namespace {

// The FIFO on disk: made if missing, and then removed again on destruction.
class fifo_file {
public:
    explicit fifo_file(std::string path) : path_(std::move(path)) {
        if (::mkfifo(path_.c_str(), 0600) == 0)
            created_ = true;
        else if (errno != EEXIST)
            throw std::system_error(errno, std::generic_category(), "mkfifo " + path_);
        struct stat st {};
        if (::stat(path_.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode))
            throw std::runtime_error(path_ + " exists and is not a FIFO");
    }
    ~fifo_file() {
        if (created_)
            ::unlink(path_.c_str());
    }
    fifo_file(const fifo_file&) = delete;
    fifo_file& operator=(const fifo_file&) = delete;

    // O_RDWR (defined on Linux, not by POSIX): holding a write end ourselves,
    // the reader never sees EOF when the writers come and go, and opening
    // does not block until a writer appears.
    int open() const {
        int fd = ::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            throw std::system_error(errno, std::generic_category(), "open " + path_);
        return fd;
    }

    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    bool created_ = false;
};

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

void print_result(const std::string& url, const error_code& ec, const curlasio::response& res) {
    if (ec) {
        std::cout << "ERR " << ec.message();
        if (!res.error_message.empty() && res.error_message != ec.message())
            std::cout << " (" << res.error_message << ')';
    } else {
        const std::chrono::duration<double, std::milli> ms = res.times.total;
        std::cout << res.status << ' ' << std::setw(9) << res.body.size() << " B " << std::setw(8)
                  << std::fixed << std::setprecision(1) << ms.count() << " ms";
    }
    // Flushed per line: the output usually goes to a pipe or a log.
    std::cout << "  " << url << std::endl;
}

class hiperfifo {
public:
    hiperfifo(asio::io_context& io, std::string path)
        : file_(std::move(path)), fifo_(io, file_.open()), signals_(io, SIGINT, SIGTERM),
          engine_(std::in_place, io) {}

    void start() {
        std::cerr << "hiperfifo: reading URLs from " << file_.path() << " ('quit' or Ctrl-C to stop)\n";
        signals_.async_wait([this](error_code ec, int signo) { on_signal(ec, signo); });
        read_line();
    }

private:
    // A line longer than this is dropped, so a stray writer cannot make the
    // buffer grow without bound.
    static constexpr std::size_t max_line = 64 * 1024;

    void read_line() {
        asio::async_read_until(fifo_, asio::dynamic_buffer(buffer_, max_line), '\n',
                               [this](error_code ec, std::size_t n) { on_line(ec, n); });
    }

    void on_line(error_code ec, std::size_t n) {
        if (!reading_) // the FIFO was closed by stop_reading(): nothing to do
            return;
        if (ec == asio::error::not_found) { // no '\n' within max_line
            std::cerr << "hiperfifo: line too long, dropped\n";
            buffer_.clear();
            dropping_ = true; // and so is the rest of it, up to its '\n'
            return read_line();
        }
        if (ec) {
            std::cerr << "hiperfifo: reading " << file_.path() << ": " << ec.message() << '\n';
            return stop_reading();
        }

        const std::string line(trim(std::string_view(buffer_).substr(0, n)));
        buffer_.erase(0, n);
        if (std::exchange(dropping_, false))
            return read_line();
        if (line == "quit") {
            if (in_flight_ > 0)
                std::cerr << "hiperfifo: quit; waiting for " << in_flight_
                          << " transfer(s), Ctrl-C cancels them\n";
            return stop_reading();
        }
        if (!line.empty())
            fetch(line);
        read_line();
    }

    void fetch(const std::string& url) {
        curlasio::request req(url);
        req.options.redirects.follow = true;
        ++in_flight_;
        // The handler runs on the io_context (never inside this call), once,
        // even when the transfer is cancelled: `this` outlives it.
        curlasio::async_fetch(*engine_, std::move(req), [this, url](error_code ec, curlasio::response res) {
            print_result(url, ec, res);
            --in_flight_;
            finish_if_idle();
        });
    }

    void on_signal(error_code ec, int signo) {
        // operation_aborted: finish_if_idle() withdrew the wait. No engine: a
        // signal that raced with finish_if_idle(); everything is done anyway.
        if (ec || !engine_)
            return;
        std::cerr << "hiperfifo: signal " << signo << "; cancelling " << in_flight_ << " transfer(s)\n";
        engine_->cancel(); // each handler still runs, with operation_aborted
        stop_reading();
    }

    // Closing the descriptor aborts the pending read; no new transfer starts.
    void stop_reading() {
        if (!reading_)
            return;
        reading_ = false;
        error_code ignored;
        fifo_.close(ignored);
        finish_if_idle();
    }

    // Once reading has stopped and the last transfer is done, releases what
    // still keeps the io_context busy: the signal wait and the engine (whose
    // destruction closes the connections libcurl keeps for reuse). run() then
    // returns on its own.
    void finish_if_idle() {
        if (reading_ || in_flight_ > 0 || !engine_)
            return;
        signals_.cancel();
        engine_.reset();
    }

    fifo_file file_;
    asio::posix::stream_descriptor fifo_;
    asio::signal_set signals_;
    std::optional<curlasio::engine> engine_; // optional: reset to end the program
    std::string buffer_;
    std::size_t in_flight_ = 0;
    bool reading_ = true;
    bool dropping_ = false;
};

} // namespace

int main(int argc, char* argv[]) {
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        std::cerr << "usage: hiperfifo [FIFO_PATH]   (default: hiper.fifo)\n";
        return 2;
    }
    try {
        asio::io_context io;
        hiperfifo app(io, argc == 2 ? argv[1] : "hiper.fifo");
        app.start();
        io.run();
        std::cerr << "hiperfifo: done\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "hiperfifo: " << e.what() << '\n';
        return 1;
    }
}
