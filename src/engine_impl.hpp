#ifndef CURLASIO_SRC_ENGINE_IMPL_HPP
#define CURLASIO_SRC_ENGINE_IMPL_HPP

// The engine's state: one CURLM*, the socket table, the timer, the watchdog.
// Private to the library (tests reach it through detail::engine_access).
//
// Every member function runs on the engine's executor, inside a busy_scope;
// the only members safe from other threads are executor(), next_id(),
// stats(), the *_async entry points and close(). Shared ownership: every
// wait, post and cancellation handler keeps the state alive until it has run.
//
// Where things are:
//   engine_impl.cpp       construction, shutdown, the transfers (start,
//                         cancel, finish), close() for the destructor
//   engine_loop.cpp       executing the tables' decisions: waits, the timer,
//                         idle connections, the watchdog's verdicts
//   engine_callbacks.cpp  the libcurl callbacks (socket, timer, open, close)
//   engine_registry.*     the execution-context service for context shutdown
//   handle_pool.*         spare easy handles and the rule for reusing one
//   detail/               the sans-io decisions: socket_table, timer_schedule,
//                         watchdog (unit tested without sockets)

#include "detail/admission_queue.hpp"
#include "detail/socket_table.hpp"
#include "detail/timer_schedule.hpp"
#include "detail/watchdog.hpp"
#include "handle_pool.hpp"

#include <curlasio/detail/transfer.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/engine_options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace curlasio::detail {

class engine_registry;

class engine_impl : public std::enable_shared_from_this<engine_impl> {
public:
    using executor_type = boost::asio::any_io_executor;

    engine_impl(executor_type ex, const engine_options& options);
    ~engine_impl();
    engine_impl(const engine_impl&) = delete;
    engine_impl& operator=(const engine_impl&) = delete;

    const executor_type& executor() const noexcept { return executor_; }
    std::uint64_t next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    /// From any thread: hands `t` and what it must fetch to the engine
    /// (posted to its executor).
    void submit(transfer_ptr t, request&& req, body_sink* sink = nullptr);
    /// From any thread: resumes transfer `id` after its sink paused it
    /// (posted; the only caller of curl_easy_pause).
    void resume_async(std::uint64_t id);
    /// From any thread: aborts transfer `id` if it is still running and
    /// `type` may abort it at its stage (see async_fetch).
    void cancel_async(std::uint64_t id, boost::asio::cancellation_type type);
    /// From any thread: aborts every running transfer; the engine stays usable.
    void cancel_all_async();
    /// From any thread, for the engine's destructor: aborts everything and
    /// frees libcurl's state, closing its connections. Done at once when no
    /// thread is inside the engine's code; posted when one is (this one,
    /// inside a libcurl callback, or another thread running the executor).
    /// Handlers still run, with operation_aborted; later submissions are
    /// refused the same way.
    void close() noexcept;

    /// Called while the execution context shuts down (its destructor): frees
    /// libcurl's state and the transfers without running their handlers,
    /// which Asio destroys uncalled at that point anyway.
    void context_shutdown() noexcept;
    /// True once the execution context has shut down: nothing may be posted.
    bool context_gone() const noexcept { return context_gone_.load(std::memory_order_acquire); }

    /// From any thread.
    engine_stats stats() const noexcept {
        return {stalls_kicked_.load(std::memory_order_relaxed),
                busy_suspended_.load(std::memory_order_relaxed),
                stray_closed_.load(std::memory_order_relaxed)};
    }

    /// For an engine pool, right after construction and before any fetch:
    /// every easy handle of this engine uses `share` (DNS and TLS sessions).
    void use_share(std::shared_ptr<dns_tls_share> share) noexcept { handles_.use_share(std::move(share)); }

    // ---- fault injection, for tests only (on the executor) ------------------------
    /// Cancels every socket wait and the timer behind libcurl's back, as a
    /// lost wake-up would: only the watchdog can recover.
    void debug_lose_wakeups();
    /// Watches `fd` as if libcurl had asked with `what` (CURL_POLL_*).
    void debug_watch(int fd, int what);

private:
    using descriptor = boost::asio::posix::stream_descriptor;

    // Held by every piece of engine code that runs on the executor, so that
    // close() from another thread knows whether it may act at once; owner_
    // tells close() that its own thread is inside (a libcurl callback).
    class busy_scope {
    public:
        explicit busy_scope(engine_impl& e) : e_(e) {
            e_.busy_.lock();
            e_.owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        }
        ~busy_scope() {
            e_.owner_.store(std::thread::id(), std::memory_order_relaxed);
            e_.busy_.unlock();
        }
        busy_scope(const busy_scope&) = delete;
        busy_scope& operator=(const busy_scope&) = delete;

    private:
        engine_impl& e_;
    };
    /// Posts f(*this) to the executor, to run inside a busy_scope.
    template <typename F>
    void post_busy(F&& f) {
        boost::asio::post(executor_, [self = shared_from_this(), f = std::forward<F>(f)]() mutable {
            busy_scope busy(*self);
            f(*self);
        });
    }

    // ---- transfers (engine_impl.cpp) ----
    /// A submitted transfer: into libcurl, into the admission queue, or
    /// refused.
    void start(transfer_ptr t, request&& req, body_sink* sink);
    /// Puts `t` into libcurl; false if it was completed instead (refused,
    /// or the engine shut down), its admission place then free again.
    bool launch(transfer_ptr t, request&& req, body_sink* sink);
    /// A place under the admission limit came free: launches who waits.
    void admit_next();
    /// Completes every queued fetch with `ec`.
    void abort_queued(error_code ec);
    void resume(std::uint64_t id);
    void cancel(std::uint64_t id, boost::asio::cancellation_type type);
    void abort_all(error_code ec);
    void shutdown();
    void drop_transfers() noexcept;
    void release_everything() noexcept;
    void finish(transfer* t, error_code ec, CURLcode result, const char* message = nullptr);
    /// From inside a libcurl callback: fails the transfer of `easy` soon.
    void fail_later(CURL* easy, error_code ec, const char* message);

    // ---- the loop (engine_loop.cpp) ----
    void socket_action(curl_socket_t fd, int events);
    void after_action();
    void drain_messages();
    void execute(int fd, const socket_decision& d);
    void arm(int fd, wait_kind kind, std::uint64_t generation);
    void on_wait(int fd, wait_kind kind, std::uint64_t generation, const error_code& ec);
    void apply_timer(const timer_decision& d);
    void start_watchdog();
    void watchdog_tick();
    /// Bytes sent by the running transfers (libcurl's count), for the watchdog.
    std::uint64_t bytes_sent() const noexcept;
    bool any_wait_armed() const;
    void go_idle_soon(int turns);
    void unpark_idle_connections();
    /// An idle connection became readable: make libcurl see it dead.
    // A transfer paused on its upload source whose connection libcurl let
    // go of: failed if the peer has closed it.
    void end_stranded_upload(int fd);
    void retire_idle(int fd);
    /// An idle connection has bytes, an end or an error to read (a peek).
    bool idle_has_input(int fd) const noexcept;
    /// A REMOVE says a connection went idle; the transfer that said it is
    /// kept, since a paused or rate-limited one REMOVEs its socket too and
    /// its connection is still in use while it runs.
    void note_idle_owner(int fd, CURL* easy) noexcept;
    /// An idle connection may still belong to a transfer: its last named
    /// owner runs, or some transfer is paused (see engine_loop.cpp).
    bool may_be_in_use(int fd) const noexcept;
    bool has_descriptor(int fd) const noexcept;
    /// Runs the check the socket table asked for on our duplicate of `fd`.
    bool run_probe(int fd, probe p) const noexcept;

    // ---- libcurl callbacks (engine_callbacks.cpp): no exception leaves them ----
    static int socket_callback(CURL*, curl_socket_t fd, int what, void* self, void*) noexcept;
    static int timer_callback(CURLM*, long timeout_ms, void* self) noexcept;
    static curl_socket_t open_callback(void* self, curlsocktype, curl_sockaddr* address) noexcept;
    static int close_callback(void* self, curl_socket_t fd) noexcept;

    executor_type executor_;
    CURLM* multi_ = nullptr;
    socket_table table_;
    timer_schedule schedule_;
    handle_pool handles_;
    // I/O objects of the executor's context; destroyed early by
    // context_shutdown(), since their services die with the context.
    std::optional<boost::asio::steady_timer> timer_;
    std::vector<std::unique_ptr<descriptor>> descriptors_; // our duplicates, indexed by libcurl's fd
    // Inside libcurl, by id: an open-addressing table (no allocation per
    // transfer once it has grown to the engine's load).
    boost::unordered_flat_map<std::uint64_t, transfer*> transfers_;
    // The admission limit (absent without one) and the fetches it holds back,
    // with what they will fetch.
    struct queued_fetch {
        transfer_ptr t;
        request req;
        body_sink* sink = nullptr;
    };
    std::optional<admission_queue> admission_;
    std::unordered_map<std::uint64_t, queued_fetch> queued_;
    std::atomic<std::uint64_t> next_id_{1};
    engine_registry* registry_ = nullptr; // null once the context shut down
    std::atomic<bool> context_gone_{false};
    bool shut_down_ = false;
    bool callback_failed_ = false; // a callback could not do its job (allocation)
    std::function<curl_socket_t(curlsocktype, const curl_sockaddr&)> open_socket_;
    std::mutex busy_;
    std::atomic<std::thread::id> owner_{};
    std::uint64_t actions_ = 0;             // calls that let libcurl run transfers
    bool idle_parked_ = false;              // idle connections unwatched (no transfer)
    std::vector<std::uint64_t> idle_owner_; // by fd: the last transfer libcurl gave it to
    // The connection cache's size (CURLMOPT_MAXCONNECTS) the engine keeps
    // when engine_options leaves it to us; 0: fixed by the options.
    std::size_t connection_cache_ = 0;

    // The stall watchdog: a timer that runs while transfers do (absent when
    // the interval is zero), its decisions, and the bytes it counts.
    std::optional<boost::asio::steady_timer> watchdog_timer_;
    std::optional<watchdog> watchdog_;
    std::chrono::milliseconds watchdog_interval_;
    bool watchdog_armed_ = false;
    std::uint64_t activity_ = 0; // bytes received by any transfer, ever
    std::atomic<std::uint64_t> stalls_kicked_{0};
    std::atomic<std::uint64_t> busy_suspended_{0};
    std::atomic<std::uint64_t> stray_closed_{0};
};

} // namespace curlasio::detail

#endif
