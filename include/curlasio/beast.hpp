#ifndef CURLASIO_BEAST_HPP
#define CURLASIO_BEAST_HPP

/// @file
/// Beast messages in and out: the async_fetch overloads for boost::beast::http
/// messages (CMake target curlasio::beast; not in the umbrella header).

// Beast messages in and out: async_fetch overloads that take a
// boost::beast::http::request<Body, Fields> and fill a
// boost::beast::http::response<ResponseBody, Fields> of the caller's choice.
// The one public header that includes Beast and Boost.URL (target
// curlasio::beast): code that never includes it compiles neither.
//
// Beast's body concepts are the seams. A request body that lives in memory
// (string_body, vector_body<char>, dynamic_body, span_body, buffer_body with
// more == false) is copied once into the transfer; any other (file_body, a
// body type of yours) is read from its writer as libcurl asks for bytes. A
// response body goes through its reader as bytes arrive: a file_body
// response writes to its file, never holding it. Beast's serializer and
// parser are not run: libcurl frames the messages (HTTP/1.1, HTTP/2, TLS,
// proxies, redirects, decoding). The response's fields say how libcurl framed
// its body (no Content-Length beside Transfer-Encoding, one in place of
// several), so a response written out again by Beast frames the body it
// holds; a head Beast cannot hold (a field name or value over 65533 bytes)
// fails the fetch with errc::head_not_representable.
//
// beast_fetch_options and remove_hop_by_hop are declared beside the sans-io
// mapping they belong to, in detail/beast_message.hpp (included here).

#include <curlasio/async_fetch.hpp>
#include <curlasio/detail/beast_message.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/error.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace curlasio {
namespace detail {

/// What a Beast fetch keeps beside the transfer: the sink over the
/// response's reader and, for the by-value form, the response itself.
template <typename ResponseBody, typename Fields>
struct beast_owned_response {
    boost::beast::http::response<ResponseBody, Fields> message;
    reader_sink<ResponseBody, Fields> sink;

    beast_owned_response(bool decompress, bool head_request, std::size_t cap)
        : sink(message, decompress, head_request, cap) {}
};

/// The completion handler a Beast fetch gives the engine: finishes the
/// reader, then calls the caller's handler. Its associated executor,
/// allocator and cancellation slot are the caller's handler's.
template <typename Handler, typename State, bool ByValue>
struct beast_fetch_handler {
    Handler handler;
    std::shared_ptr<State> state;

    void operator()(error_code ec, response r) {
        if constexpr (ByValue) {
            if (!ec)
                ec = state->sink.finish(r);
            auto message = std::move(state->message);
            state.reset();
            std::move(handler)(ec, std::move(message));
        } else {
            if (!ec)
                ec = state->finish(r);
            state.reset();
            std::move(handler)(ec, std::move(r));
        }
    }
};

/// Completes `handler` with `ec` through its executor, never inline.
template <typename Handler, typename... Values>
void post_failure(const engine::executor_type& engine_ex, Handler&& handler, Values&&... values) {
    auto ex = boost::asio::get_associated_executor(handler, engine_ex);
    auto alloc = boost::asio::get_associated_allocator(handler, std::allocator<void>());
    boost::asio::post(
        ex, boost::asio::bind_allocator(
                alloc, [h = std::decay_t<Handler>(std::forward<Handler>(handler)),
                        ... v = std::forward<Values>(values)]() mutable { std::move(h)(std::move(v)...); }));
}

template <typename Handler, typename State, typename... Args>
std::shared_ptr<State> allocate_state(const Handler& handler, Args&&... args) {
    using alloc_type = typename std::allocator_traits<
        boost::asio::associated_allocator_t<Handler, std::allocator<void>>>::template rebind_alloc<State>;
    return std::allocate_shared<State>(
        alloc_type(boost::asio::get_associated_allocator(handler, std::allocator<void>())),
        std::forward<Args>(args)...);
}

/// The initiation of the Beast fetches; its executor is the engine's.
class initiate_beast_fetch {
public:
    using executor_type = engine::executor_type;

    explicit initiate_beast_fetch(engine& eng) noexcept : fetch_(eng) {}
    executor_type get_executor() const noexcept { return fetch_.get_executor(); }

    /// By reference: fills `*res`, completes with curlasio::response.
    template <typename Handler, typename Body, typename Fields, typename ResponseBody,
              typename ResponseFields>
    void operator()(Handler&& handler, boost::beast::http::request<Body, Fields>* req,
                    boost::beast::http::response<ResponseBody, ResponseFields>* res,
                    beast_fetch_options opts) const {
        using state_type = reader_sink<ResponseBody, ResponseFields>;
        const bool decompress = opts.options.decompress;
        const std::size_t cap = opts.options.limits.max_response_size;
        error_code ec;
        std::string why;
        request r = to_request(*req, std::move(opts), ec, why);
        if (ec) {
            response failed;
            failed.error_message = std::move(why);
            return post_failure(get_executor(), std::forward<Handler>(handler), ec, std::move(failed));
        }
        auto state = allocate_state<Handler, state_type>(
            handler, *res, decompress, req->method() == boost::beast::http::verb::head, cap);
        body_sink* sink = state.get();
        fetch_(beast_fetch_handler<std::decay_t<Handler>, state_type, false>{std::forward<Handler>(handler),
                                                                             std::move(state)},
               std::move(r), sink);
    }

    /// By value: completes with the response message.
    template <typename Handler, typename Body, typename Fields, typename ResponseBody,
              typename ResponseFields>
    void operator()(Handler&& handler, boost::beast::http::request<Body, Fields>* req,
                    std::type_identity<boost::beast::http::response<ResponseBody, ResponseFields>>,
                    beast_fetch_options opts) const {
        using state_type = beast_owned_response<ResponseBody, ResponseFields>;
        const bool decompress = opts.options.decompress;
        const std::size_t cap = opts.options.limits.max_response_size;
        error_code ec;
        std::string why;
        request r = to_request(*req, std::move(opts), ec, why);
        if (ec)
            return post_failure(get_executor(), std::forward<Handler>(handler), ec,
                                boost::beast::http::response<ResponseBody, ResponseFields>());
        auto state = allocate_state<Handler, state_type>(
            handler, decompress, req->method() == boost::beast::http::verb::head, cap);
        body_sink* sink = &state->sink;
        fetch_(beast_fetch_handler<std::decay_t<Handler>, state_type, true>{std::forward<Handler>(handler),
                                                                            std::move(state)},
               std::move(r), sink);
    }

private:
    initiate_fetch fetch_; // the one way in: a moved-from engine, cancellation, submit
};

} // namespace detail

/// Fetches the Beast request `req` on engine `eng` into the Beast response
/// `res`: method (a custom verb by its method_string()), target, version,
/// fields and body go out as libcurl needs them (see detail::to_request:
/// Content-Length, Transfer-Encoding and the hop-by-hop fields are left to
/// libcurl, Host too when it names the URL's authority), and the final
/// response's status, reason, version, fields (in order, repeats kept) and
/// body come back into `res`. The URL is the target when it is absolute,
/// else `opts.base_url` with the target's path and query; `opts.options`
/// are the request_options of a curlasio::request.
///
/// The response body goes through ResponseBody's reader as it arrives:
/// string_body, vector_body<char>, dynamic_body, empty_body (a response with
/// a body then fails with http::error::unexpected_body), file_body (open the
/// file for writing first; bytes are written as they arrive). A body libcurl
/// decoded (Content-Encoding with opts.options.decompress on) comes without
/// the encoded body's Content-Length and Content-Encoding. Other fields are
/// kept as received, Transfer-Encoding included (call remove_hop_by_hop
/// before forwarding the message). A HTTP/2 response has version() 20.
///
/// @par Completion signature
/// Completion signature: `void(error_code, curlasio::response)`, as
/// async_fetch's: a transport failure is an error_code (a body reader's or
/// writer's failure is its own error_code), an HTTP 4xx/5xx is a success.
/// The curlasio::response holds the timings, effective URL, redirect count,
/// remote address and error_message; its body and headers are empty (they
/// are in `res`). A target that yields no URL completes with
/// errc::invalid_request, error_message saying why, nothing sent. On
/// failure `res` holds whatever arrived (as after Beast's http::async_read).
///
/// @par Executor
/// Executor: the handler runs on its associated executor (by default the
/// engine's), through post, never inside this call or a libcurl callback;
/// the body's reader and writer run on the engine's executor while the
/// transfer runs, reader.finish on the handler's just before it.
///
/// @par Per-Operation Cancellation
/// Per-operation cancellation: as async_fetch (terminal and partial at every
/// stage, total only before libcurl ran the transfer), completing with
/// asio::error::operation_aborted.
///
/// @par Lifetimes
/// Lifetimes: `req` and `res` are taken by reference and must outlive the
/// operation, as in Beast's http::async_read (a buffered request body is
/// copied when the operation starts; a streamed one, file_body, is read while
/// it runs). `opts` is copied.
///
/// @par Thread safety
/// Thread safety: as async_fetch. Neither message may be touched by anything
/// else until the handler runs.
///
/// @par Exception safety
/// If this call throws (std::bad_alloc), nothing was sent and the handler
/// is destroyed without being called; otherwise as async_fetch.
/// @ingroup async_fetch
template <typename Body, typename Fields, typename ResponseBody, typename ResponseFields,
          boost::asio::completion_token_for<void(error_code, response)> CompletionToken =
              detail::default_fetch_token_t<engine::executor_type>>
auto async_fetch(engine& eng, boost::beast::http::request<Body, Fields>& req,
                 boost::beast::http::response<ResponseBody, ResponseFields>& res, beast_fetch_options opts,
                 CompletionToken&& token = CompletionToken()) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, response)>(
        detail::initiate_beast_fetch(eng), token, &req, &res, std::move(opts));
}

/// As above, with default options: `req`'s target must then be absolute
/// ("http://host/path").
///
/// Completion signature `void(error_code, curlasio::response)`; the handler
/// runs on its associated executor, through post; per-operation cancellation
/// as async_fetch (terminal, partial; total before libcurl ran it); `req`
/// and `res` must outlive the operation; callable from any thread when the
/// engine's executor is a strand (or one thread runs it).
/// @ingroup async_fetch
template <typename Body, typename Fields, typename ResponseBody, typename ResponseFields,
          boost::asio::completion_token_for<void(error_code, response)> CompletionToken =
              detail::default_fetch_token_t<engine::executor_type>>
auto async_fetch(engine& eng, boost::beast::http::request<Body, Fields>& req,
                 boost::beast::http::response<ResponseBody, ResponseFields>& res,
                 CompletionToken&& token = CompletionToken()) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, response)>(
        detail::initiate_beast_fetch(eng), token, &req, &res, beast_fetch_options());
}

/// Fetches the Beast request `req` and completes with the response as a
/// Beast message of body ResponseBody (string_body unless named:
/// `async_fetch<http::vector_body<char>>(eng, req, opts, token)`). The
/// request and response map as in the by-reference form above.
///
/// @par Completion signature
/// Completion signature: `void(error_code, http::response<ResponseBody,
/// ResponseFields>)`. The curlasio::response's extras (timings, error_message)
/// are not delivered: use the by-reference form for them. On failure the
/// message holds whatever arrived.
///
/// @par Executor
/// Executor: the handler runs on its associated executor (by default the
/// engine's), through post, never inside this call or a libcurl callback.
///
/// @par Per-Operation Cancellation
/// Per-operation cancellation: as async_fetch (terminal and partial at every
/// stage, total only before libcurl ran the transfer), completing with
/// asio::error::operation_aborted.
///
/// @par Thread safety
/// Thread safety: may be called from any thread when the engine's executor
/// is a strand (or an io_context run by one thread); `req` may not be
/// touched until the handler runs.
///
/// @par Lifetimes
/// Lifetimes: `req` is taken by reference and must outlive the operation;
/// `opts` is copied; the response message lives in the operation until it
/// is handed over. For a file_body response use the by-reference form (the
/// file must be open before the fetch starts).
///
/// @par Exception safety
/// If this call throws (std::bad_alloc), nothing was sent and the handler
/// is destroyed without being called; otherwise as async_fetch.
/// @ingroup async_fetch
template <typename ResponseBody = boost::beast::http::string_body,
          typename ResponseFields = boost::beast::http::fields, typename Body, typename Fields,
          boost::asio::completion_token_for<void(error_code,
                                                 boost::beast::http::response<ResponseBody, ResponseFields>)>
              CompletionToken = detail::default_fetch_token_t<engine::executor_type>>
auto async_fetch(engine& eng, boost::beast::http::request<Body, Fields>& req, beast_fetch_options opts,
                 CompletionToken&& token = CompletionToken()) {
    using message = boost::beast::http::response<ResponseBody, ResponseFields>;
    return boost::asio::async_initiate<CompletionToken, void(error_code, message)>(
        detail::initiate_beast_fetch(eng), token, &req, std::type_identity<message>(), std::move(opts));
}

/// As above, with default options: `req`'s target must then be absolute.
/// Completion signature `void(error_code, http::response<ResponseBody,
/// ResponseFields>)`; executor, cancellation, lifetimes (`req` outlives the
/// operation) and thread safety as above.
/// @ingroup async_fetch
template <typename ResponseBody = boost::beast::http::string_body,
          typename ResponseFields = boost::beast::http::fields, typename Body, typename Fields,
          boost::asio::completion_token_for<void(error_code,
                                                 boost::beast::http::response<ResponseBody, ResponseFields>)>
              CompletionToken = detail::default_fetch_token_t<engine::executor_type>>
auto async_fetch(engine& eng, boost::beast::http::request<Body, Fields>& req,
                 CompletionToken&& token = CompletionToken()) {
    using message = boost::beast::http::response<ResponseBody, ResponseFields>;
    return boost::asio::async_initiate<CompletionToken, void(error_code, message)>(
        detail::initiate_beast_fetch(eng), token, &req, std::type_identity<message>(), beast_fetch_options());
}

} // namespace curlasio

namespace boost::asio {

/// The Beast fetch's handler is associated as the caller's handler is.
template <template <typename, typename> class Associator, typename Handler, typename State, bool ByValue,
          typename DefaultCandidate>
struct associator<Associator, curlasio::detail::beast_fetch_handler<Handler, State, ByValue>,
                  DefaultCandidate> : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type
    get(const curlasio::detail::beast_fetch_handler<Handler, State, ByValue>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const curlasio::detail::beast_fetch_handler<Handler, State, ByValue>& h,
                    const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

} // namespace boost::asio

#endif
