#ifndef CURLASIO_TEST_TOOLKIT_IO_THREADS_HPP
#define CURLASIO_TEST_TOOLKIT_IO_THREADS_HPP

// An io_context run by several threads, for the threading tests.

#include "run.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace curlasio::test {

// Runs an io_context on n threads; stop() lets them finish the remaining
// work, and stops the context outright if that does not end in time.
class io_threads {
public:
    io_threads(asio::io_context& io, int n) : io_(io), work_(io.get_executor()) {
        for (int i = 0; i < n; ++i)
            threads_.emplace_back([this] {
                io_.run();
                ++exited_;
            });
    }
    ~io_threads() { stop(); }

    // True when every thread ran out of work by itself.
    bool stop(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
        if (threads_.empty())
            return stopped_cleanly_;
        work_.reset();
        const bool drained =
            eventually([&] { return exited_.load() == static_cast<int>(threads_.size()); }, limit);
        if (!drained)
            io_.stop();
        for (auto& t : threads_)
            t.join();
        threads_.clear();
        stopped_cleanly_ = drained;
        return drained;
    }

private:
    asio::io_context& io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
    std::atomic<int> exited_{0};
    bool stopped_cleanly_ = true;
};

} // namespace curlasio::test

#endif
