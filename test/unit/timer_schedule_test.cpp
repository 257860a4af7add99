// CURLMOPT_TIMERFUNCTION decisions: one post for a storm of 0 ms, cancel on
// -1, generations that make every superseded firing stale.

#include "detail/timer_schedule.hpp"

#include <boost/test/unit_test.hpp>

using curlasio::detail::timer_decision;
using curlasio::detail::timer_schedule;

namespace {

void check(const timer_decision& d, bool cancel, bool arm, bool post) {
    BOOST_TEST(d.cancel == cancel);
    BOOST_TEST(d.arm == arm);
    BOOST_TEST(d.post == post);
}

} // namespace

BOOST_AUTO_TEST_SUITE(timer_schedule_suite)

BOOST_AUTO_TEST_CASE(initial_state) {
    timer_schedule s;
    BOOST_TEST(!s.armed());
    BOOST_TEST(!s.posted());
    BOOST_TEST(s.generation() == 0u);
}

BOOST_AUTO_TEST_CASE(zero_storm_posts_once) {
    timer_schedule s;
    auto d = s.on_timer(0);
    check(d, false, false, true);
    const auto g = d.generation;
    BOOST_TEST(g != 0u);
    BOOST_TEST(s.posted());

    for (int i = 0; i < 1000; ++i) {
        auto again = s.on_timer(0);
        check(again, false, false, false);
    }
    BOOST_TEST(s.generation() == g); // the pending post still counts
    BOOST_TEST(s.posted());

    BOOST_TEST(s.on_fired(g, false));
    BOOST_TEST(!s.posted());
    // The post ran: the next 0 ms needs a post of its own.
    auto next = s.on_timer(0);
    check(next, false, false, true);
    BOOST_TEST(next.generation > g);
    BOOST_TEST(!s.on_fired(g, false)); // an old post, run twice, is stale
    BOOST_TEST(s.on_fired(next.generation, false));
}

BOOST_AUTO_TEST_CASE(minus_one_cancels_arm) {
    timer_schedule s;
    auto a = s.on_timer(100);
    check(a, false, true, false);
    BOOST_TEST(a.milliseconds == 100);
    BOOST_TEST(s.armed());

    auto c = s.on_timer(-1);
    check(c, true, false, false);
    BOOST_TEST(c.generation > a.generation);
    BOOST_TEST(!s.armed());
    BOOST_TEST(!s.posted());
    // The cancelled wait completes aborted, or raced and completes ok: both stale.
    BOOST_TEST(!s.on_fired(a.generation, true));
    BOOST_TEST(!s.on_fired(a.generation, false));
}

BOOST_AUTO_TEST_CASE(minus_one_makes_post_stale) {
    timer_schedule s;
    auto p = s.on_timer(0);
    auto c = s.on_timer(-1);
    check(c, false, false, false); // nothing armed to cancel; a post cannot be
    BOOST_TEST(c.generation > p.generation);
    BOOST_TEST(!s.posted());
    BOOST_TEST(!s.on_fired(p.generation, false));

    // A later 0 ms is not swallowed by the dead post.
    auto p2 = s.on_timer(0);
    check(p2, false, false, true);
    BOOST_TEST(s.on_fired(p2.generation, false));

    // -1 when idle: nothing to cancel.
    check(s.on_timer(-1), false, false, false);
}

BOOST_AUTO_TEST_CASE(zero_after_arm_cancels_and_posts) {
    timer_schedule s;
    auto a = s.on_timer(50);
    auto z = s.on_timer(0);
    check(z, true, false, true);
    BOOST_TEST(z.generation > a.generation);
    BOOST_TEST(!s.armed());
    BOOST_TEST(s.posted());
    BOOST_TEST(!s.on_fired(a.generation, true));
    BOOST_TEST(s.posted()); // a stale firing leaves the pending post alone

    // Storm after that: still one post.
    check(s.on_timer(0), false, false, false);
    BOOST_TEST(s.on_fired(z.generation, false));
}

BOOST_AUTO_TEST_CASE(positive_after_post_makes_post_stale) {
    timer_schedule s;
    auto p = s.on_timer(0);
    auto a = s.on_timer(30);
    check(a, false, true, false);
    BOOST_TEST(a.milliseconds == 30);
    BOOST_TEST(a.generation > p.generation);
    BOOST_TEST(!s.posted());
    BOOST_TEST(s.armed());

    BOOST_TEST(!s.on_fired(p.generation, false));
    BOOST_TEST(s.armed()); // the stale post did not disarm the timer
    BOOST_TEST(s.on_fired(a.generation, false));
    BOOST_TEST(!s.armed());
}

BOOST_AUTO_TEST_CASE(positive_after_positive_rearms) {
    timer_schedule s;
    auto a1 = s.on_timer(100);
    auto a2 = s.on_timer(200);
    check(a2, true, true, false);
    BOOST_TEST(a2.milliseconds == 200);
    BOOST_TEST(a2.generation > a1.generation);
    BOOST_TEST(!s.on_fired(a1.generation, true));
    BOOST_TEST(s.armed());
    BOOST_TEST(s.on_fired(a2.generation, false));
}

BOOST_AUTO_TEST_CASE(stale_generation_is_false) {
    timer_schedule s;
    auto a = s.on_timer(10);
    BOOST_TEST(!s.on_fired(a.generation + 1, false)); // from the future
    BOOST_TEST(!s.on_fired(0, false));
    BOOST_TEST(s.armed());
    BOOST_TEST(s.on_fired(a.generation, false));
}

BOOST_AUTO_TEST_CASE(aborted_is_false) {
    timer_schedule s;
    auto a = s.on_timer(10);
    // Aborted with the current generation (io_context shutting down).
    BOOST_TEST(!s.on_fired(a.generation, true));
    BOOST_TEST(!s.armed());
    auto p = s.on_timer(0);
    check(p, false, false, true);
    BOOST_TEST(!s.on_fired(p.generation, true));
    BOOST_TEST(!s.posted());
}

BOOST_AUTO_TEST_CASE(reset_forgets_everything) {
    timer_schedule s;
    auto a = s.on_timer(10);
    auto r = s.reset();
    check(r, true, false, false);
    BOOST_TEST(r.generation > a.generation);
    BOOST_TEST(!s.armed());
    BOOST_TEST(!s.on_fired(a.generation, false));

    auto p = s.on_timer(0);
    auto r2 = s.reset();
    check(r2, false, false, false);
    BOOST_TEST(!s.posted());
    BOOST_TEST(!s.on_fired(p.generation, false));

    check(s.reset(), false, false, false); // idle
}

BOOST_AUTO_TEST_SUITE_END()
