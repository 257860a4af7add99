#ifndef CURLASIO_ENGINE_POOL_HPP
#define CURLASIO_ENGINE_POOL_HPP

/// @file
/// curlasio::engine_pool: several engines behind one async_fetch.

// curlasio::engine_pool: several engines, each with its own CURLM, behind
// one async_fetch. Two shapes:
//   - one engine per executor (an io_context per thread, the user's own
//     threads): every core runs libcurl;
//   - several engines on one executor: libcurl 7.88's cost per transfer grows
//     with the connections one CURLM holds to a host (it walks its connection
//     cache on every start and end), so thousands of connections split over
//     several CURLMs cost less, even on one thread.
// The engines share libcurl's DNS cache and TLS sessions through one CURLSH
// (never the connection cache); each fetch is placed so that connections are
// reused (see async_fetch below).

#include <curlasio/async_fetch.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/engine_options.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace curlasio {

namespace detail {
class pool_placement;
class dns_tls_share;
struct pool_slot {
    std::uint32_t engine = 0;
    std::uint32_t slot = 0;
};
/// From any thread: picks the engine of `engines` for a fetch to `url`
/// (one of the calling thread's own if it runs some) and counts it.
pool_slot pool_place(pool_placement& p, const std::vector<engine>& engines, const std::string& url) noexcept;
/// From any thread: the fetch placed at `s` ended (`ok`: successfully).
void pool_finished(pool_placement& p, pool_slot s, bool ok) noexcept;
template <typename Handler>
class pool_completion;
} // namespace detail

/// N engines (each one CURLM*) behind one async_fetch.
///
/// @par Thread safety
/// Each engine follows engine's rules on its executor: an
/// io_context run by one thread, or a strand. async_fetch(pool, ...),
/// cancel(), stats() and in_flight() are then safe from any thread. The pool
/// object itself (construction, move, destruction) is not synchronised.
///
/// @par Lifetimes
/// Destroying the pool destroys its engines, which aborts every
/// transfer; each pending handler still runs exactly once, with
/// asio::error::operation_aborted, on its executor (see engine).
///
/// A moved-from pool holds no engine: async_fetch on it completes with
/// errc::engine_moved_from.
///
/// @see @ref md_doc_pool_and_admission "The admission limit and the engine pool"
class engine_pool {
public:
    /// The engines' executor type.
    using executor_type = engine::executor_type;

    /// `engines` engines on one executor (0 counts as 1).
    engine_pool(boost::asio::io_context& io, std::size_t engines, const engine_options& options = {});
    /// `engines` engines on executor `ex` (0 counts as 1).
    engine_pool(const executor_type& ex, std::size_t engines, const engine_options& options = {});
    /// One engine per executor, in that order (an executor given twice gets
    /// two engines). Throws std::invalid_argument when `executors` is empty.
    explicit engine_pool(const std::vector<executor_type>& executors, const engine_options& options = {});

    /// Takes over `other`'s engines; `other` keeps only its executor.
    engine_pool(engine_pool&& other) noexcept;
    /// Aborts this pool's transfers (as the destructor does), then takes
    /// over `other`'s.
    engine_pool& operator=(engine_pool&& other) noexcept;
    ~engine_pool();

    /// The first engine's executor.
    executor_type get_executor() const noexcept { return executor_; }

    /// Number of engines (0 when moved from).
    std::size_t size() const noexcept { return engines_.size(); }
    /// Engine `i`, to fetch on it directly or read its stats (fetches made
    /// on it directly are not counted by the placement).
    engine& at(std::size_t i) { return engines_.at(i); }

    /// Aborts every running transfer of every engine (their handlers get
    /// operation_aborted); the pool remains usable. Safe from any thread.
    void cancel();

    /// Every engine's watchdog counters, summed. Safe from any thread.
    engine_stats stats() const noexcept;

    /// Fetches the pool placed on engine `i` whose handlers have not run
    /// yet. Safe from any thread.
    std::size_t in_flight(std::size_t i) const noexcept;

    /// For the library's tests: how often libcurl locked the shared DNS
    /// cache and the shared TLS sessions (CURL_LOCK_DATA_DNS, _SSL_SESSION).
    std::pair<std::uint64_t, std::uint64_t> debug_share_locks() const noexcept;

private:
    friend class initiate_pool_fetch;

    void make_engines(const std::vector<executor_type>& executors, const engine_options& options);

    executor_type executor_;
    std::shared_ptr<detail::dns_tls_share> share_;
    std::shared_ptr<detail::pool_placement> placement_;
    std::vector<engine> engines_; // last: destroyed first, aborting the transfers
};

namespace detail {

/// The user's handler, plus the pool's bookkeeping: when it is invoked, the
/// placement learns the fetch ended, before the handler runs. Destroyed
/// uninvoked (its io_context went away, or initiation threw), it still
/// counts the fetch as ended. Every associated characteristic (executor,
/// allocator, cancellation slot) is the handler's (see the associator below).
template <typename Handler>
class pool_completion {
public:
    pool_completion(Handler h, std::shared_ptr<pool_placement> p, pool_slot s)
        : handler_(std::move(h)), placement_(std::move(p)), slot_(s) {}
    pool_completion(pool_completion&& o) noexcept(std::is_nothrow_move_constructible_v<Handler>)
        : handler_(std::move(o.handler_)), placement_(std::move(o.placement_)), slot_(o.slot_) {}
    pool_completion& operator=(pool_completion&&) = delete;
    ~pool_completion() {
        if (placement_)
            pool_finished(*placement_, slot_, false);
    }

    void operator()(error_code ec, response r) {
        if (auto p = std::move(placement_))
            pool_finished(*p, slot_, !ec);
        std::move(handler_)(ec, std::move(r));
    }

    const Handler& handler() const noexcept { return handler_; }

private:
    Handler handler_;
    std::shared_ptr<pool_placement> placement_;
    pool_slot slot_;
};

} // namespace detail

/// The initiation object of async_fetch on a pool; its executor is the
/// pool's (the first engine's).
class initiate_pool_fetch {
public:
    /// The pool's executor type.
    using executor_type = engine_pool::executor_type;

    /// An initiation on `pool`, which must outlive the call of operator().
    explicit initiate_pool_fetch(engine_pool& pool) noexcept : pool_(pool) {}

    /// The pool's executor (its first engine's).
    executor_type get_executor() const noexcept { return pool_.get_executor(); }

    template <typename Handler>
    /// Places the fetch on an engine and starts it there (see async_fetch).
    void operator()(Handler&& handler, request req) const {
        using wrapped = detail::pool_completion<std::decay_t<Handler>>;
        if (pool_.engines_.empty())
            return fail(std::forward<Handler>(handler));
        const detail::pool_slot s = detail::pool_place(*pool_.placement_, pool_.engines_, req.url);
        // The engine's own initiation: its cancellation, exactly-once and
        // executor rules are the pool's.
        initiate_fetch(pool_.engines_[s.engine])(
            wrapped(std::decay_t<Handler>(std::forward<Handler>(handler)), pool_.placement_, s),
            std::move(req));
    }

private:
    template <typename Handler>
    void fail(Handler&& handler) const {
        auto ex = boost::asio::get_associated_executor(handler, pool_.get_executor());
        auto alloc = boost::asio::get_associated_allocator(handler, std::allocator<void>());
        boost::asio::post(ex,
                          boost::asio::bind_allocator(
                              alloc, [h = std::decay_t<Handler>(std::forward<Handler>(handler))]() mutable {
                                  response r;
                                  r.error_message = make_error_code(errc::engine_moved_from).message();
                                  std::move(h)(make_error_code(errc::engine_moved_from), std::move(r));
                              }));
    }

    engine_pool& pool_;
};

/// Performs one HTTP transfer described by `req` on one of `pool`'s engines.
///
/// @par Completion signature
/// `void(error_code, response)`, as async_fetch on an
/// engine: a transport failure is an error_code, an HTTP status of 4xx or
/// 5xx a successful completion carrying it.
///
/// @par Placement
/// The fetch goes to an engine that recently completed a transfer
/// to the same origin (scheme://host:port) and whose connection no fetch
/// placed since has taken, so that idle connection is reused, provided that
/// engine is not much busier than the least busy one (at most 1 + a quarter
/// more fetches in flight); otherwise to the engine with the fewest fetches
/// in flight. Called on a thread that runs some of the pool's io_contexts
/// (a completion handler starting the next fetch, say), the fetch prefers
/// the engines of that thread among those choices, which saves a cross-thread
/// post and wake-up each way. A fetch counts as in flight from this call
/// until just before its handler runs.
///
/// @par Executor
/// The handler runs on its associated executor through
/// asio::post, never inside this call; a handler with none runs on the
/// executor of the engine that ran the transfer (with one io_context per
/// thread, any of the pool's threads: bind an executor, or use a coroutine,
/// to choose). Its associated allocator allocates the operation state.
///
/// @par Per-Operation Cancellation
/// The token's cancellation slot goes to the
/// chosen engine's fetch unchanged, with the same rules: terminal and partial
/// at every stage, total only while libcurl has not yet run the transfer.
/// Retries (request_options::retry) behave as on one engine; all attempts run
/// on the chosen engine.
///
/// @par Lifetimes
/// `req` is taken by value; `pool` must outlive this call only.
/// Destroying the pool completes the operation with operation_aborted.
/// With a cookie jar (request_options::cookies) the request uses the jar's
/// share instead of the pool's: no shared DNS cache or TLS sessions for it.
///
/// @par Thread safety
/// May be called from any thread, as long as each engine's
/// executor is a strand or an io_context run by one thread.
///
/// @par Exception safety
/// As async_fetch on an engine.
/// @ingroup async_fetch
template <boost::asio::completion_token_for<void(error_code, response)> CompletionToken =
              detail::default_fetch_token_t<engine_pool::executor_type>>
auto async_fetch(engine_pool& pool, request req, CompletionToken&& token = CompletionToken()) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, response)>(initiate_pool_fetch(pool),
                                                                                    token, std::move(req));
}

} // namespace curlasio

// Every associated characteristic of the wrapped handler is the user's.
template <template <typename, typename> class Associator, typename Handler, typename DefaultCandidate>
struct boost::asio::associator<Associator, curlasio::detail::pool_completion<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type
    get(const curlasio::detail::pool_completion<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler());
    }
    static auto get(const curlasio::detail::pool_completion<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler(), c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler(), c);
    }
};

#endif
