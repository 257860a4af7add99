#ifndef CURLASIO_SESSION_HPP
#define CURLASIO_SESSION_HPP

/// @file
/// curlasio::session: a base URL, default headers and options and a cookie jar
/// over an engine (CMake target curlasio::session; not in the umbrella header).

// curlasio::session: defaults over an engine. A base URL that relative
// targets are resolved against (RFC 3986, with Boost.URL), default headers,
// default request_options, and a cookie jar (in memory, of the session's
// own, unless replaced) that every fetch reads and writes:
//
//   curlasio::session s(eng, "https://api.example.com/v1/");
//   s.headers().emplace_back("Accept", "application/json");
//   s.options().timeout = std::chrono::seconds(10);
//   auto req = s.make_request(curlasio::verb::get, "users/42");  // edit it at will
//   curlasio::async_fetch(s, std::move(req), token);
//
// Target curlasio::session (the library plus Boost.URL); not in the
// umbrella header.

#include <curlasio/async_fetch.hpp>
#include <curlasio/cookie_jar.hpp>
#include <curlasio/engine.hpp>
#include <curlasio/method.hpp>
#include <curlasio/request.hpp>
#include <curlasio/request_options.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curlasio {

/// Defaults for the requests made through one engine.
///
/// @par Thread safety
/// The const members (make_request, resolve, the getters) and
/// async_fetch may be called concurrently from any threads, as long as no
/// thread changes the session's configuration (base URL, headers(),
/// options(), set_cookies) at the same time: configure it first, then share
/// it. The cookie jar itself is thread-safe (see cookie_jar). async_fetch
/// has the engine's rules besides (see curlasio::async_fetch).
///
/// @par Lifetimes
/// The engine must outlive the session. A fetch copies what it
/// needs from the session when it starts; the session may be destroyed while
/// its fetches run (they keep the jar alive). A copy of a session shares its
/// jar (set_cookies(std::make_shared<cookie_jar>()) gives it one of its own).
///
/// @see @ref md_doc_sessions "Sessions, cookies and retries"
class session {
public:
    /// The engine's executor type.
    using executor_type = engine::executor_type;

    /// A session over `eng` with an empty in-memory cookie jar. `base_url`,
    /// when not empty, must be an absolute URL (with a scheme); relative
    /// targets are resolved against it as RFC 3986 says, so that the base's
    /// last segment is replaced unless it ends in '/': with
    /// "http://h/api/v1/", "users" is "http://h/api/v1/users", with
    /// "http://h/api/v1" it is "http://h/api/users". Throws
    /// std::invalid_argument for a base that is not an absolute URL, and
    /// std::bad_alloc when libcurl cannot make the jar.
    explicit session(engine& eng, std::string base_url = {});

    /// The engine the session fetches on.
    engine& get_engine() const noexcept { return *engine_; }
    /// The engine's executor.
    executor_type get_executor() const noexcept { return engine_->get_executor(); }

    /// The base URL relative targets are resolved against ("": none).
    const std::string& base_url() const noexcept { return base_url_; }
    /// Replaces the base URL (same rules as the constructor's).
    void set_base_url(std::string base_url);

    /// Sent with every request fetched through the session, unless the
    /// request has a header of the same name (compared without case): then
    /// that name's defaults are all left out. Added at async_fetch, after
    /// the request's own headers.
    std::vector<request::header>& headers() noexcept { return headers_; }
    /// The default headers, read-only.
    const std::vector<request::header>& headers() const noexcept { return headers_; }

    /// The options make_request copies into each request: set them once,
    /// override them per request. Its `cookies` member is the session's jar.
    /// (A request made otherwise keeps its own options; only the jar and the
    /// headers are applied to it at async_fetch.)
    request_options& options() noexcept { return options_; }
    /// The default options, read-only.
    const request_options& options() const noexcept { return options_; }

    /// The jar every fetch uses (options().cookies), or null when cookies
    /// are off for the session.
    const std::shared_ptr<cookie_jar>& cookies() const noexcept { return options_.cookies; }
    /// Uses `jar` from now on (a jar shared with another session, one loaded
    /// from a file), or no cookies with nullptr.
    void set_cookies(std::shared_ptr<cookie_jar> jar) noexcept { options_.cookies = std::move(jar); }

    /// `target` resolved against the base URL (see the constructor); a
    /// target with a scheme, or any target when there is no base, is
    /// returned as it is, and so is one that is no URI reference at all (the
    /// fetch then fails as libcurl finds it, CURLE_URL_MALFORMAT for one
    /// without a host).
    std::string resolve(std::string_view target) const;

    /// A request for `target` (resolved) with method `m` and a copy of
    /// options(), the jar included. The default headers are not copied in:
    /// async_fetch adds those the request lacks, so that add_header
    /// overrides a default rather than repeating it.
    request make_request(curlasio::method m, std::string_view target) const;

    /// What async_fetch does to a request before handing it to the engine:
    /// resolves its URL, adds the default headers it lacks, and the
    /// session's jar when it has none (a request that must go without
    /// cookies is fetched through the engine itself, or from a session
    /// whose jar is null).
    void apply_defaults(request& req) const;

private:
    engine* engine_;
    std::string base_url_;
    std::vector<request::header> headers_;
    request_options options_;
};

/// Performs `req` through the session `s`: as curlasio::async_fetch on
/// `s.get_engine()`, after session::apply_defaults (relative URL resolved,
/// default headers the request lacks added, the session's jar when the
/// request has none). The defaults are read when this is called, also for
/// a deferred token.
///
/// @par Completion signature
/// `void(error_code, response)`, as
/// curlasio::async_fetch, through the same initiation (initiate_fetch): any
/// completion token, the handler on its associated executor (by default
/// the engine's), never inline.
///
/// @par Executor
/// As curlasio::async_fetch: the handler runs on its associated executor
/// (by default the engine's), through asio::post, never inside this call.
///
/// @par Per-Operation Cancellation
/// As curlasio::async_fetch (terminal and
/// partial at every stage, total before libcurl ran the transfer).
///
/// @par Lifetimes
/// `req` is taken by value; the session may go away once this
/// returns, the engine must outlive the operation (or be destroyed, which
/// completes it with operation_aborted).
///
/// @par Thread safety
/// See session; concurrent calls are fine while nobody
/// reconfigures the session.
///
/// @par Exception safety
/// If this call throws (std::bad_alloc), no transfer was started and the
/// handler is destroyed without being called; otherwise as
/// curlasio::async_fetch.
/// @ingroup async_fetch
template <boost::asio::completion_token_for<void(error_code, response)> CompletionToken =
              detail::default_fetch_token_t<engine::executor_type>>
auto async_fetch(const session& s, request req, CompletionToken&& token = CompletionToken()) {
    s.apply_defaults(req);
    return async_fetch(s.get_engine(), std::move(req), std::forward<CompletionToken>(token));
}

} // namespace curlasio

#endif
