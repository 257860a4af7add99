#ifndef CURLASIO_RETRY_OPTIONS_HPP
#define CURLASIO_RETRY_OPTIONS_HPP

/// @file
/// curlasio::retry_options: when and how a fetch is sent again.

// curlasio::retry_options: when async_fetch sends a request again
// (request_options::retry). Off by default (max_attempts = 1); an aggregate,
// so that designated initializers work:
//
//   req.options.retry = {.max_attempts = 4, .initial_backoff = 200ms, .budget = 10s};
//
// The decision itself is sans-io (detail/retry_decision.hpp): this header
// only holds the policy.

#include <curlasio/error.hpp>

#include <boost/container/small_vector.hpp>

#include <chrono>
#include <functional>
#include <vector>

namespace curlasio {

struct response;

/// How a computed backoff is randomised, so that many clients failing
/// together do not come back together.
enum class retry_jitter {
    none,         ///< exactly the computed backoff
    full,         ///< uniform in [0, backoff] ("full jitter")
    proportional, ///< uniform in [backoff * (1 - jitter_fraction), backoff]
};

/// What the caller learns before each wait (retry_options::on_retry).
struct retry_event {
    /// The attempt that just ended (1 for the first).
    unsigned attempt = 0;
    /// How the attempt ended (none: a response, see status).
    error_code ec;
    /// The attempt's HTTP status; 0 when none was received.
    int status = 0;
    /// How long the operation waits before the next attempt.
    std::chrono::milliseconds delay{0};
};

/// When and how a fetch is sent again (request_options::retry). Off by
/// default (max_attempts 1). A value type.
///
/// @see @ref md_doc_sessions "Sessions, cookies and retries"
struct retry_options {
    /// Attempts in all, the first included: 1 turns retries off.
    unsigned max_attempts = 1;
    /// The wait before the second attempt; each later one is `multiplier`
    /// times the one before, at most max_backoff (then jitter applies).
    std::chrono::milliseconds initial_backoff{100};
    /// Growth of the backoff per attempt.
    double multiplier = 2.0;
    /// Cap of the computed backoff.
    std::chrono::milliseconds max_backoff{std::chrono::seconds(10)};
    /// How the backoff is randomised.
    retry_jitter jitter = retry_jitter::full;
    /// For retry_jitter::proportional: how much of the backoff may be taken
    /// off, in [0, 1].
    double jitter_fraction = 0.5;
    /// Time for the whole operation from its start, waits included; 0: none.
    /// No retry is made whose wait would end past it, and each attempt's
    /// request_options::timeout is lowered to what is left of it, so the
    /// operation ends within about the budget (the last attempt then fails
    /// with CURLE_OPERATION_TIMEDOUT).
    std::chrono::milliseconds budget{0};
    /// Also retry methods that are not idempotent (POST, PATCH, any other
    /// than GET, HEAD, OPTIONS, TRACE, PUT, DELETE). Whatever this says, a
    /// connection that could not be made (condition::connect_failed) is
    /// retried for every method: nothing was sent.
    bool retry_non_idempotent = false;
    /// HTTP statuses that are retried (a status is not an error_code). A
    /// vector with room for 8 in place: copying a request allocates nothing
    /// for it.
    boost::container::small_vector<int, 8> statuses{502, 503, 504};
    /// 429 Too Many Requests is retried when, and only when, it carries a
    /// Retry-After that parses (and honour_retry_after is set): without one
    /// the server said nothing about when coming back would help.
    bool retry_429_with_retry_after = true;
    /// Wait as long as a retried response's Retry-After says (delta-seconds
    /// or an HTTP-date), instead of the computed backoff and without jitter,
    /// at most max_retry_after. A value that does not parse is ignored.
    bool honour_retry_after = true;
    /// The longest wait a Retry-After may ask for: a longer one is cut to it.
    std::chrono::seconds max_retry_after{60};
    /// When set, decides which outcomes are worth another attempt instead of
    /// the default rule (is_retryable(ec), or a status above); the method
    /// rule, max_attempts and the budget still apply. Called with the
    /// attempt's error_code (success included) and response.
    std::function<bool(const error_code&, const response&)> should_retry{};
    /// When set, called once before each wait.
    std::function<void(const retry_event&)> on_retry{};
};

} // namespace curlasio

#endif
