#ifndef CURLASIO_ENGINE_HPP
#define CURLASIO_ENGINE_HPP

/// @file
/// curlasio::engine (one CURLM on an Asio executor) and engine_stats.

#include <curlasio/engine_options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>

namespace curlasio {

namespace detail {
class engine_impl;
struct engine_access;
} // namespace detail

/// What the engine's stall watchdog did (engine_options::watchdog_interval).
/// Non-zero counts point at a bug, in curlasio or in libcurl: please report them.
struct engine_stats {
    /// Times transfers were running with no socket wait and no timer armed
    /// (a lost wake-up) and every transfer was driven once to recover.
    std::uint64_t stalls_kicked = 0;
    /// Times a socket kept firing with no transfer making progress (a busy
    /// loop) and its waits were suspended until the next watchdog look.
    std::uint64_t busy_sockets_suspended = 0;
    /// Idle connections that received bytes while no transfer used them
    /// (what a server sent after a complete response) and were closed
    /// instead of being reused: those bytes would otherwise have been read
    /// as the next request's response. Non-zero points at the server.
    std::uint64_t stray_data_connections = 0;
};

/// Runs libcurl transfers inside an Asio executor: one CURLM*, its sockets
/// watched with the executor's reactor, its timer an asio::steady_timer.
///
/// @par Thread safety
/// Every libcurl call happens on the engine's executor. With an
/// io_context run by one thread, give the io_context (or its executor); with
/// several threads, give a strand. async_fetch and cancel() are then safe to
/// call from any thread. The engine object itself (construction, move,
/// destruction) is not synchronised: do not destroy it while another thread
/// calls async_fetch on it.
///
/// @par Lifetimes
/// Destroying the engine, or calling cancel(), aborts every
/// transfer; each pending handler still runs exactly once, with
/// asio::error::operation_aborted, on its executor (so only once that
/// executor runs again). Destruction also closes every connection and frees
/// libcurl's state at once, unless a thread is inside the engine's code at
/// that moment: another thread running its executor, or this thread inside
/// one of the engine's callbacks (request::on_body, on_progress,
/// engine_options::open_socket); then that is done as soon as the engine's
/// code is left, on the executor. The internal state lives on until its last
/// pending wait has run, so the io_context may keep running (or be
/// destroyed) afterwards. Any callback of the engine may destroy it.
///
/// A moved-from engine keeps its executor and nothing else: it may be
/// destroyed, assigned to and queried (stats() all zero, cancel() does
/// nothing); async_fetch on it completes with errc::engine_moved_from.
///
/// @see @ref md_doc_getting_started "Getting started",
///      @ref md_doc_tokens_and_cancellation "Tokens and cancellation",
///      @ref md_doc_faults "Defaults and faults"
class engine {
public:
    /// The executor every libcurl call of the engine runs on.
    using executor_type = boost::asio::any_io_executor;

    /// An engine on `io`'s executor (one thread runs `io`). Throws
    /// std::bad_alloc, or std::runtime_error when libcurl cannot make its multi
    /// handle.
    explicit engine(boost::asio::io_context& io, const engine_options& options = {});
    /// An engine on `ex`: a strand when several threads run its context.
    /// Throws as the constructor above.
    explicit engine(executor_type ex, const engine_options& options = {});
    /// Takes over `other`'s transfers; `other` keeps only its executor.
    engine(engine&& other) noexcept;
    /// Aborts this engine's transfers (as the destructor does), then takes
    /// over `other`'s.
    engine& operator=(engine&& other) noexcept;
    ~engine();

    /// The engine's executor: the default executor of its operations' handlers.
    executor_type get_executor() const noexcept { return executor_; }

    /// Aborts every running and queued transfer (their handlers get operation_aborted);
    /// the engine remains usable. Safe from any thread.
    void cancel();

    /// The watchdog's counters. Safe from any thread.
    engine_stats stats() const noexcept;

private:
    friend struct detail::engine_access;

    executor_type executor_;
    std::shared_ptr<detail::engine_impl> impl_;
};

} // namespace curlasio

#endif
