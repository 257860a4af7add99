#ifndef CURLASIO_DETAIL_RETRY_DECISION_HPP
#define CURLASIO_DETAIL_RETRY_DECISION_HPP

// Whether to send a request again, and after how long: a sans-io decision
// over the policy and one attempt's outcome. No clock and no randomness of
// its own: the caller passes the time and a random number, so tests script
// every case without sockets or timers.

#include <curlasio/error.hpp>
#include <curlasio/retry_options.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace curlasio::detail {

/// An attempt's outcome and what the decision depends on besides the policy.
struct retry_input {
    /// Attempts made so far, the one that just ended included (>= 1).
    unsigned attempts_made = 1;
    /// Since the operation started, up to now.
    std::chrono::milliseconds elapsed{0};
    error_code ec;
    int status = 0;
    /// The response's Retry-After value, when it had one.
    std::optional<std::string_view> retry_after;
    std::string_view method = "GET";
    /// The request streams a body in (request::upload) or out (on_body, a
    /// sink): it cannot be sent again.
    bool streaming = false;
    /// The operation was cancelled.
    bool cancelled = false;
    /// The answer of retry_options::should_retry, when it is set.
    std::optional<bool> predicate;
    /// Wall-clock now, for a Retry-After HTTP-date.
    std::chrono::system_clock::time_point now{};
    /// Uniform in [0, 1), for the jitter.
    double random = 0;
};

struct retry_decision {
    bool retry = false;
    /// With retry: the wait before the next attempt.
    std::chrono::milliseconds delay{0};
    /// Why: "retry", or why not ("succeeded", "not retryable", "attempts
    /// exhausted", "budget exhausted", "not idempotent", "streaming body",
    /// "cancelled").
    std::string_view reason;
};

/// Retry-After (RFC 9110 10.2.3) as a wait from `now`: delta-seconds
/// (saturating: an enormous number is just large) or an HTTP-date (IMF-fixdate
/// and the obsolete forms, parsed by curl_getdate; a date past is 0). Nullopt
/// for anything else. Surrounding spaces are allowed.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

/// The backoff after `attempts_made` attempts, before jitter:
/// initial_backoff * multiplier^(attempts_made - 1), at most max_backoff.
std::chrono::milliseconds backoff_for(const retry_options& policy, unsigned attempts_made) noexcept;

/// True for GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 9.2.2).
bool is_idempotent(std::string_view method) noexcept;

retry_decision decide_retry(const retry_options& policy, const retry_input& in);

} // namespace curlasio::detail

#endif
