#include <curlasio/detail/retry_decision.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <string>

namespace curlasio::detail {

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool all_digits(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Past any cap a caller would set, and far from overflowing milliseconds.
constexpr std::int64_t max_seconds = 1'000'000'000;

bool status_listed(const retry_options& p, int status) noexcept {
    return std::find(p.statuses.begin(), p.statuses.end(), status) != p.statuses.end();
}

} // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
    value = trim(value);
    if (value.empty())
        return std::nullopt;
    if (all_digits(value)) {
        std::int64_t n = 0;
        for (char c : value) {
            n = n * 10 + (c - '0');
            if (n >= max_seconds)
                return std::chrono::seconds(max_seconds);
        }
        return std::chrono::seconds(n);
    }
    // An HTTP-date needs a letter (the day or month name): curl_getdate also
    // takes bare numbers and times of day, which Retry-After does not.
    if (!std::any_of(value.begin(), value.end(),
                     [](char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }))
        return std::nullopt;
    const std::string copy(value); // curl_getdate wants a C string
    const std::time_t when = curl_getdate(copy.c_str(), nullptr);
    if (when == -1)
        return std::nullopt;
    const std::int64_t delta = static_cast<std::int64_t>(when) -
                               static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(now));
    return std::chrono::seconds(std::clamp<std::int64_t>(delta, 0, max_seconds));
}

std::chrono::milliseconds backoff_for(const retry_options& p, unsigned attempts_made) noexcept {
    const double cap = static_cast<double>(std::max<std::int64_t>(p.max_backoff.count(), 0));
    const double first = static_cast<double>(std::max<std::int64_t>(p.initial_backoff.count(), 0));
    const double exponent = attempts_made > 0 ? static_cast<double>(attempts_made - 1) : 0.0;
    double d = first * std::pow(p.multiplier, exponent);
    if (!std::isfinite(d) || d > cap)
        d = cap;
    if (!(d >= 0)) // NaN or negative (a negative multiplier)
        d = 0;
    return std::chrono::milliseconds(static_cast<std::int64_t>(d));
}

bool is_idempotent(std::string_view m) noexcept {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

retry_decision decide_retry(const retry_options& p, const retry_input& in) {
    if (in.cancelled)
        return {false, {}, "cancelled"};

    std::optional<std::chrono::seconds> after;
    if (p.honour_retry_after && in.retry_after)
        after = parse_retry_after(*in.retry_after, in.now);

    bool retryable = false;
    if (in.predicate)
        retryable = *in.predicate;
    else if (in.ec)
        retryable = is_retryable(in.ec);
    else
        retryable =
            status_listed(p, in.status) || (in.status == 429 && p.retry_429_with_retry_after && after);
    if (!retryable)
        return {false, {}, !in.ec && in.status < 400 ? "succeeded" : "not retryable"};

    if (in.streaming)
        return {false, {}, "streaming body"};
    // A connection never made sent nothing: safe for every method.
    if (!p.retry_non_idempotent && !is_idempotent(in.method) && in.ec != condition::connect_failed)
        return {false, {}, "not idempotent"};
    if (in.attempts_made >= p.max_attempts)
        return {false, {}, "attempts exhausted"};

    std::chrono::milliseconds delay;
    if (after && !in.ec) {
        delay = std::min<std::chrono::milliseconds>(*after, p.max_retry_after);
    } else {
        const auto base = backoff_for(p, in.attempts_made);
        const double u = std::clamp(in.random, 0.0, 1.0);
        const double f = std::clamp(p.jitter_fraction, 0.0, 1.0);
        double factor = 1.0;
        if (p.jitter == retry_jitter::full)
            factor = u;
        else if (p.jitter == retry_jitter::proportional)
            factor = 1.0 - f * u;
        delay =
            std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * factor));
    }
    if (delay.count() < 0)
        delay = std::chrono::milliseconds(0);

    if (p.budget.count() > 0 && in.elapsed + delay >= p.budget)
        return {false, {}, "budget exhausted"};
    return {true, delay, "retry"};
}

} // namespace curlasio::detail
