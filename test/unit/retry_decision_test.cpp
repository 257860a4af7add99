// The retry decision, scripted: outcomes, attempt counts, elapsed time, the
// wall clock and the random number are all given, nothing waits.

#include <curlasio/detail/retry_decision.hpp>

#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ctime>

using namespace std::chrono_literals;
using curlasio::retry_jitter;
using curlasio::retry_options;
using curlasio::detail::backoff_for;
using curlasio::detail::decide_retry;
using curlasio::detail::parse_retry_after;
using curlasio::detail::retry_input;

namespace {

// 2026-12-02 04:00:00 UTC.
const auto fixed_now = std::chrono::system_clock::from_time_t(1796184000);

retry_options policy(unsigned attempts = 5) {
    return {.max_attempts = attempts,
            .initial_backoff = 100ms,
            .multiplier = 2.0,
            .max_backoff = 1s,
            .jitter = retry_jitter::none};
}

retry_input status_outcome(int status, unsigned attempts_made = 1) {
    retry_input in;
    in.attempts_made = attempts_made;
    in.status = status;
    in.now = fixed_now;
    return in;
}

retry_input error_outcome(curlasio::error_code ec, unsigned attempts_made = 1) {
    retry_input in = status_outcome(0, attempts_made);
    in.ec = ec;
    return in;
}

} // namespace

BOOST_AUTO_TEST_SUITE(retry_decision_suite)

BOOST_AUTO_TEST_CASE(retry_after_delta_seconds) {
    BOOST_TEST(parse_retry_after("0", fixed_now).value() == 0s);
    BOOST_TEST(parse_retry_after("1", fixed_now).value() == 1s);
    BOOST_TEST(parse_retry_after(" 120 ", fixed_now).value() == 120s);
    // Huge numbers saturate instead of overflowing; the policy caps them.
    const auto huge = parse_retry_after("99999999999999999999999999999", fixed_now);
    BOOST_TEST_REQUIRE(huge.has_value());
    BOOST_TEST(huge->count() >= 1'000'000'000);
}

BOOST_AUTO_TEST_CASE(retry_after_http_date) {
    // IMF-fixdate 90 s after fixed_now, and the two obsolete forms RFC 9110 accepts.
    BOOST_TEST(parse_retry_after("Wed, 02 Dec 2026 04:01:30 GMT", fixed_now).value() == 90s);
    BOOST_TEST(parse_retry_after("Wednesday, 02-Dec-26 04:01:30 GMT", fixed_now).value() == 90s);
    BOOST_TEST(parse_retry_after("Wed Dec  2 04:01:30 2026", fixed_now).value() == 90s);
    // A date already past means "now".
    BOOST_TEST(parse_retry_after("Tue, 01 Dec 2026 04:00:00 GMT", fixed_now).value() == 0s);
}

BOOST_AUTO_TEST_CASE(retry_after_garbage_ignored) {
    for (const char* v : {"", "   ", "soon", "-5", "1.5", "12abc", "12:30:00", "Wed, 99 Foo 2026 GMT"})
        BOOST_TEST(!parse_retry_after(v, fixed_now).has_value(), "\"" << v << "\"");
}

BOOST_AUTO_TEST_CASE(backoff_grows_and_caps) {
    const auto p = policy();
    BOOST_TEST(backoff_for(p, 1).count() == 100);
    BOOST_TEST(backoff_for(p, 2).count() == 200);
    BOOST_TEST(backoff_for(p, 4).count() == 800);
    BOOST_TEST(backoff_for(p, 5).count() == 1000);
    BOOST_TEST(backoff_for(p, 1000).count() == 1000); // pow overflows to inf: capped
    auto flat = p;
    flat.multiplier = 1.0;
    BOOST_TEST(backoff_for(flat, 7).count() == 100);
}

BOOST_AUTO_TEST_CASE(success_and_other_statuses_are_done) {
    const auto p = policy();
    for (int s : {200, 204, 304}) {
        const auto d = decide_retry(p, status_outcome(s));
        BOOST_TEST(!d.retry);
        BOOST_TEST(d.reason == "succeeded");
    }
    for (int s : {400, 404, 500, 501}) {
        const auto d = decide_retry(p, status_outcome(s));
        BOOST_TEST(!d.retry);
        BOOST_TEST(d.reason == "not retryable");
    }
}

BOOST_AUTO_TEST_CASE(gateway_statuses_retried_with_backoff) {
    const auto p = policy();
    for (int s : {502, 503, 504}) {
        const auto d = decide_retry(p, status_outcome(s, 3));
        BOOST_TEST(d.retry);
        BOOST_TEST(d.delay.count() == 400);
    }
}

BOOST_AUTO_TEST_CASE(transient_errors_retried_others_not) {
    const auto p = policy();
    for (CURLcode c : {CURLE_COULDNT_CONNECT, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_OPERATION_TIMEDOUT})
        BOOST_TEST(decide_retry(p, error_outcome(make_error_code(c))).retry, c);
    for (CURLcode c : {CURLE_COULDNT_RESOLVE_HOST, CURLE_PEER_FAILED_VERIFICATION, CURLE_TOO_MANY_REDIRECTS})
        BOOST_TEST(!decide_retry(p, error_outcome(make_error_code(c))).retry, c);
    BOOST_TEST(!decide_retry(p, error_outcome(boost::asio::error::operation_aborted)).retry);
    BOOST_TEST(!decide_retry(p, error_outcome(make_error_code(curlasio::errc::invalid_request))).retry);
}

BOOST_AUTO_TEST_CASE(attempts_bound) {
    const auto p = policy(3);
    BOOST_TEST(decide_retry(p, status_outcome(503, 2)).retry);
    const auto d = decide_retry(p, status_outcome(503, 3));
    BOOST_TEST(!d.retry);
    BOOST_TEST(d.reason == "attempts exhausted");
    // The default policy never retries.
    BOOST_TEST(decide_retry(retry_options{}, status_outcome(503)).reason == "attempts exhausted");
}

BOOST_AUTO_TEST_CASE(methods) {
    const auto p = policy();
    for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
        auto in = status_outcome(503);
        in.method = m;
        BOOST_TEST(decide_retry(p, in).retry, m);
    }
    for (const char* m : {"POST", "PATCH", "PROPFIND", "get"}) {
        auto in = status_outcome(503);
        in.method = m;
        const auto d = decide_retry(p, in);
        BOOST_TEST(!d.retry, m);
        BOOST_TEST(d.reason == "not idempotent");
        // Nothing was sent when the connection could not be made.
        auto refused = error_outcome(make_error_code(CURLE_COULDNT_CONNECT));
        refused.method = m;
        BOOST_TEST(decide_retry(p, refused).retry, m);
        // A reset may come after the server acted on it.
        auto reset = error_outcome(make_error_code(CURLE_RECV_ERROR));
        reset.method = m;
        BOOST_TEST(!decide_retry(p, reset).retry, m);
    }
    auto post = status_outcome(503);
    post.method = "POST";
    auto open = p;
    open.retry_non_idempotent = true;
    BOOST_TEST(decide_retry(open, post).retry);
}

BOOST_AUTO_TEST_CASE(streaming_body_never_retried) {
    auto in = error_outcome(make_error_code(CURLE_COULDNT_CONNECT));
    in.streaming = true;
    const auto d = decide_retry(policy(), in);
    BOOST_TEST(!d.retry);
    BOOST_TEST(d.reason == "streaming body");
}

BOOST_AUTO_TEST_CASE(cancelled_is_done) {
    auto in = status_outcome(503);
    in.cancelled = true;
    BOOST_TEST(decide_retry(policy(), in).reason == "cancelled");
}

BOOST_AUTO_TEST_CASE(retry_after_replaces_backoff_and_is_capped) {
    auto p = policy();
    p.max_retry_after = 30s;
    auto in = status_outcome(503);
    in.retry_after = "7";
    auto d = decide_retry(p, in);
    BOOST_TEST(d.retry);
    BOOST_TEST(d.delay.count() == 7000);
    in.retry_after = "Wed, 02 Dec 2026 04:00:12 GMT";
    BOOST_TEST(decide_retry(p, in).delay.count() == 12000);
    in.retry_after = "86400";
    BOOST_TEST(decide_retry(p, in).delay.count() == 30000);
    in.retry_after = "99999999999999999999";
    BOOST_TEST(decide_retry(p, in).delay.count() == 30000);
    // Garbage: the computed backoff.
    in.retry_after = "later";
    BOOST_TEST(decide_retry(p, in).delay.count() == 100);
    // Not honoured: the computed backoff.
    p.honour_retry_after = false;
    in.retry_after = "7";
    BOOST_TEST(decide_retry(p, in).delay.count() == 100);
}

BOOST_AUTO_TEST_CASE(too_many_requests_needs_retry_after) {
    auto p = policy();
    auto in = status_outcome(429);
    BOOST_TEST(!decide_retry(p, in).retry);
    in.retry_after = "garbage";
    BOOST_TEST(!decide_retry(p, in).retry);
    in.retry_after = "2";
    auto d = decide_retry(p, in);
    BOOST_TEST(d.retry);
    BOOST_TEST(d.delay.count() == 2000);
    p.retry_429_with_retry_after = false;
    BOOST_TEST(!decide_retry(p, in).retry);
    p.statuses.push_back(429); // listed: retried, Retry-After or not
    in.retry_after.reset();
    BOOST_TEST(decide_retry(p, in).retry);
}

BOOST_AUTO_TEST_CASE(budget_exhaustion) {
    auto p = policy();
    p.budget = 1s;
    auto in = status_outcome(503, 2); // backoff 200 ms
    in.elapsed = 700ms;
    BOOST_TEST(decide_retry(p, in).retry);
    in.elapsed = 800ms; // the wait would end at the budget
    auto d = decide_retry(p, in);
    BOOST_TEST(!d.retry);
    BOOST_TEST(d.reason == "budget exhausted");
    // A Retry-After past the budget ends it too.
    in = status_outcome(503);
    in.retry_after = "5";
    BOOST_TEST(decide_retry(p, in).reason == "budget exhausted");
}

BOOST_AUTO_TEST_CASE(jitter_bounds) {
    auto p = policy();
    p.jitter = retry_jitter::full;
    const auto in_at = [](double u) {
        auto in = status_outcome(503, 3); // backoff 400 ms
        in.random = u;
        return in;
    };
    BOOST_TEST(decide_retry(p, in_at(0.0)).delay.count() == 0);
    BOOST_TEST(decide_retry(p, in_at(0.5)).delay.count() == 200);
    BOOST_TEST(decide_retry(p, in_at(0.999999)).delay.count() <= 400);
    p.jitter = retry_jitter::proportional;
    p.jitter_fraction = 0.25;
    BOOST_TEST(decide_retry(p, in_at(0.0)).delay.count() == 400);
    BOOST_TEST(decide_retry(p, in_at(0.999999)).delay.count() >= 300);
    for (double u = 0; u < 1; u += 0.01) {
        const auto d = decide_retry(p, in_at(u)).delay.count();
        BOOST_TEST((d >= 300 && d <= 400), u);
    }
    // Out-of-range inputs are clamped, never a negative wait.
    p.jitter_fraction = 7;
    BOOST_TEST(decide_retry(p, in_at(0.999999)).delay.count() >= 0);
    BOOST_TEST(decide_retry(p, in_at(-3)).delay.count() == 400);
}

BOOST_AUTO_TEST_CASE(predicate_replaces_classification_only) {
    auto p = policy(2);
    auto in = status_outcome(200);
    in.predicate = true;
    BOOST_TEST(decide_retry(p, in).retry);
    in = status_outcome(503);
    in.predicate = false;
    BOOST_TEST(decide_retry(p, in).reason == "not retryable");
    // The method rule and the bound still apply.
    in = status_outcome(200);
    in.predicate = true;
    in.method = "POST";
    BOOST_TEST(decide_retry(p, in).reason == "not idempotent");
    in = status_outcome(200, 2);
    in.predicate = true;
    BOOST_TEST(decide_retry(p, in).reason == "attempts exhausted");
}

BOOST_AUTO_TEST_SUITE_END()
