#ifndef CURLASIO_ENGINE_HPP
#define CURLASIO_ENGINE_HPP

#include <curlasio/engine_options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>

namespace curlasio {

namespace detail {
class engine_impl;
}

/// What the engine's stall watchdog did (engine_options::watchdog_interval).
/// Non-zero counts point at a bug, in curlasio or in libcurl: please report them.
struct engine_stats {
    /// Times transfers were running with no socket wait and no timer armed
    /// (a lost wake-up) and every transfer was driven once to recover.
    std::uint64_t stalls_kicked = 0;
    /// Times a socket kept firing with no transfer making progress (a busy
    /// loop) and its waits were suspended until the next watchdog look.
    std::uint64_t busy_sockets_suspended = 0;
};

/// Runs libcurl transfers inside an Asio executor: one CURLM*, its sockets
/// watched with the executor's reactor, its timer an asio::steady_timer.
///
/// Threading: every libcurl call happens on the engine's executor. With an
/// io_context run by one thread, give the io_context (or its executor); with
/// several threads, give a strand. async_fetch and cancel() are then safe to
/// call from any thread. The engine object itself (construction, move,
/// destruction) is not synchronised: do not destroy it while another thread
/// calls async_fetch on it.
///
/// Lifetime: destroying the engine, or calling cancel(), aborts every
/// transfer; each pending handler still runs exactly once, with
/// asio::error::operation_aborted. The engine's internal state lives on until
/// its last pending wait has run, so the io_context may keep running (or be
/// destroyed) afterwards.
class engine {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit engine(boost::asio::io_context& io, const engine_options& options = {});
    explicit engine(executor_type ex, const engine_options& options = {});
    engine(engine&& other) noexcept = default;
    /// Aborts this engine's transfers, then takes over `other`'s.
    engine& operator=(engine&& other) noexcept;
    ~engine();

    executor_type get_executor() const noexcept;

    /// Aborts every running transfer (their handlers get operation_aborted);
    /// the engine remains usable. Safe from any thread.
    void cancel();

    /// The watchdog's counters. Safe from any thread.
    engine_stats stats() const noexcept;

    /// Internal: the shared state async_fetch submits to.
    const std::shared_ptr<detail::engine_impl>& impl() const noexcept { return impl_; }

private:
    std::shared_ptr<detail::engine_impl> impl_;
};

} // namespace curlasio

#endif
