#ifndef CURLASIO_ASYNC_FETCH_HPP
#define CURLASIO_ASYNC_FETCH_HPP

/// @file
/// async_fetch on an engine, and its initiation object initiate_fetch.

/// @defgroup async_fetch async_fetch
/// One HTTP transfer as an Asio asynchronous operation, on an engine, an
/// engine pool or a session, for a curlasio::request or for Beast messages.
/// Every overload completes with an error_code for a transport failure (an
/// HTTP 4xx/5xx is a success) and takes any completion token.
///
/// @see @ref md_doc_getting_started "Getting started",
///      @ref md_doc_tokens_and_cancellation "Tokens and cancellation",
///      @ref md_doc_beast "Beast messages"

#include <curlasio/detail/engine_access.hpp>
#include <curlasio/detail/fetch_op.hpp>
#include <curlasio/detail/retry_op.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace curlasio {

/// The initiation object of async_fetch: usable with asio::async_initiate
/// directly, and its executor is the engine's.
class initiate_fetch {
public:
    /// The engine's executor type.
    using executor_type = engine::executor_type;

    /// An initiation on `eng`; it holds the engine's state, not `eng` itself.
    explicit initiate_fetch(engine& eng) noexcept
        : executor_(eng.get_executor()), engine_(detail::engine_access::impl(eng)) {}

    /// The engine's executor.
    executor_type get_executor() const noexcept { return executor_; }

    /// `sink`, when given, takes the response body instead of
    /// response::body and must outlive the transfer (the Beast layer's reader).
    template <typename Handler>
    void operator()(Handler&& handler, request req, detail::body_sink* sink = nullptr) const {
        if (!engine_)
            return fail(std::forward<Handler>(handler), errc::engine_moved_from);
        // A sink (the Beast layer's reader) takes the body as it comes: no
        // attempt could be taken back, so such a fetch is never retried.
        if (req.options.retry.max_attempts > 1 && sink == nullptr)
            return detail::start_retrying(engine_, executor_, std::forward<Handler>(handler), std::move(req));
        detail::start_fetch(engine_, executor_, std::forward<Handler>(handler), std::move(req), sink);
    }

private:
    // Completes through the handler's executor, never inline.
    template <typename Handler>
    void fail(Handler&& handler, errc e) const {
        auto ex = boost::asio::get_associated_executor(handler, executor_);
        auto alloc = boost::asio::get_associated_allocator(handler, std::allocator<void>());
        boost::asio::post(
            ex, boost::asio::bind_allocator(
                    alloc, [h = std::decay_t<Handler>(std::forward<Handler>(handler)), e]() mutable {
                        response r;
                        r.error_message = make_error_code(e).message();
                        std::move(h)(make_error_code(e), std::move(r));
                    }));
    }

    executor_type executor_;
    std::shared_ptr<detail::engine_impl> engine_;
};

namespace detail {
template <typename Executor>
using default_fetch_token_t =
    std::conditional_t<std::is_void_v<boost::asio::default_completion_token_t<Executor>>,
                       boost::asio::deferred_t, boost::asio::default_completion_token_t<Executor>>;
}

/// Performs one HTTP transfer described by `req` on engine `eng`.
///
/// @par Completion signature
/// `void(error_code, response)`. A transport failure is
/// an error_code (categories "curl.easy", "curlasio"); an HTTP status of 4xx or
/// 5xx is a successful completion carrying that status. The response is
/// delivered also on failure, holding what arrived and libcurl's detailed
/// error text in response::error_message.
///
/// With asio::use_awaitable (and use_future) a failure is thrown as
/// boost::system::system_error, without the response: to keep
/// response::error_message, co_await with asio::as_tuple(asio::use_awaitable),
/// which yields `auto [ec, res]` (the README's first example,
/// examples/quickstart.cpp).
///
/// @par Executor
/// The handler runs on its associated executor (by default the
/// engine's), through asio::post: never inside this call, never inside a
/// libcurl callback. Its associated allocator allocates the operation state.
///
/// @par Per-Operation Cancellation
/// Through the token's associated slot:
/// - terminal and partial: honoured at every stage. The transfer is removed
///   from libcurl and the handler gets asio::error::operation_aborted; the
///   request may already have reached the server.
/// - total ("no apparent side effects"): honoured only while libcurl has not
///   yet run the transfer (the start still posted, or added to libcurl and
///   not yet driven; in practice a cancellation emitted right after the call,
///   before the executor ran anything else). Later it is ignored and the
///   fetch goes on to its real result.
/// - any type, while the fetch waits in the engine's admission queue
///   (engine_options::max_running_transfers): it completes at once with
///   operation_aborted; nothing was sent.
/// If the transfer had already finished, the handler gets its real result.
/// Either way the engine stays usable. A fetch the admission queue has no
/// room for completes with errc::queue_full.
///
/// @par Retries
/// With req.options.retry.max_attempts > 1 (see retry_options), the
/// operation keeps a copy of `req`, sends one copy per attempt through the
/// same transfer machinery, waits between attempts on a steady_timer on the
/// engine's executor, and completes once with the last attempt's result
/// (response::attempts, response::earlier_attempts). Its intermediate steps
/// and the hooks should_retry and on_retry run on the handler's associated
/// executor; a hook that throws ends it with errc::callback_threw. Never
/// retried: a request with request::upload (a source is read once) or
/// request::on_body, and a fetch with a sink (the Beast layer's body reader).
/// Cancellation of a retried fetch: during a wait, terminal, partial and
/// total all complete at once with operation_aborted (the response is the
/// last attempt's); during an attempt, that attempt decides as above, and no
/// further attempt is made. Destroying the engine during a wait completes
/// with operation_aborted when the wait ends.
///
/// @par Lifetimes
/// `req` is taken by value; nothing else needs to outlive the call.
/// Destroying `eng` completes the operation with operation_aborted. On a
/// moved-from engine the operation completes with errc::engine_moved_from.
///
/// @par Thread safety
/// May be called from any thread when the engine's executor
/// is a strand (or an io_context run by one thread).
///
/// @par Exception safety
/// If this call throws (std::bad_alloc), no transfer was started and the
/// handler is destroyed without being called. An exception thrown by
/// request::on_body, on_progress or an options.curl_options setter ends the
/// fetch with errc::callback_threw (response::callback_exception holds it);
/// one thrown by the completion handler leaves io_context::run(), as Asio's
/// rule is, and leaves the engine intact: call run() again.
/// @ingroup async_fetch
template <boost::asio::completion_token_for<void(error_code, response)> CompletionToken =
              detail::default_fetch_token_t<engine::executor_type>>
auto async_fetch(engine& eng, request req, CompletionToken&& token = CompletionToken()) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, response)>(initiate_fetch(eng),
                                                                                    token, std::move(req));
}

} // namespace curlasio

#endif
