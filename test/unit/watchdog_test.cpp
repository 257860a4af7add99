// Scripted sequences against the sans-io stall watchdog: wake-ups, bytes
// moved, ticks; the verdicts the engine would execute, with no timer.

#include "detail/watchdog.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using curlasio::detail::watchdog;
using verdict = watchdog::verdict;

BOOST_AUTO_TEST_SUITE(watchdog_suite)

BOOST_AUTO_TEST_CASE(wakeups_with_bytes_received_are_progress) {
    watchdog w(3);
    std::uint64_t received = 0;
    for (int i = 0; i < 100; ++i)
        BOOST_TEST((w.on_wakeup(5, received += 10) == verdict::rearm));
    // The running count moved since the (initial) tick: every wake-up counts as progress.
}

BOOST_AUTO_TEST_CASE(idle_wakeups_over_the_limit_ask_for_bytes_sent) {
    watchdog w(3);
    for (int i = 0; i < 3; ++i)
        BOOST_TEST((w.on_wakeup(5, 0) == verdict::rearm));
    BOOST_TEST((w.on_wakeup(5, 0) == verdict::check_sent));
    // Bytes went out since the last check (a fast upload): keep going.
    BOOST_TEST((w.on_sent(5, 65536) == verdict::rearm));
    BOOST_TEST(!w.suspended(5));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST((w.on_wakeup(5, 0) == verdict::rearm));
    BOOST_TEST((w.on_wakeup(5, 0) == verdict::check_sent));
    BOOST_TEST((w.on_sent(5, 131072) == verdict::rearm));
    // Nothing moved either way over a whole round: a spin.
    for (int i = 0; i < 3; ++i)
        w.on_wakeup(5, 0);
    BOOST_TEST((w.on_wakeup(5, 0) == verdict::check_sent));
    BOOST_TEST((w.on_sent(5, 131072) == verdict::suspend));
    BOOST_TEST(w.suspended(5));
}

BOOST_AUTO_TEST_CASE(a_spin_with_nothing_ever_sent_is_suspended_on_the_first_check) {
    watchdog w(2);
    w.on_wakeup(7, 0);
    w.on_wakeup(7, 0);
    BOOST_TEST((w.on_wakeup(7, 0) == verdict::check_sent));
    BOOST_TEST((w.on_sent(7, 0) == verdict::suspend));
}

BOOST_AUTO_TEST_CASE(counts_are_per_socket) {
    watchdog w(2);
    w.on_wakeup(3, 0);
    w.on_wakeup(3, 0);
    w.on_wakeup(4, 0);
    w.on_wakeup(4, 0);
    BOOST_TEST((w.on_wakeup(3, 0) == verdict::check_sent));
    BOOST_TEST((w.on_wakeup(5, 0) == verdict::rearm));
    BOOST_TEST((w.on_wakeup(-1, 0) == verdict::rearm)); // never for a bad fd
}

BOOST_AUTO_TEST_CASE(a_tick_resumes_the_suspended_and_resets_the_counts) {
    watchdog w(1);
    w.on_wakeup(5, 0);
    BOOST_TEST((w.on_wakeup(5, 0) == verdict::check_sent));
    BOOST_TEST((w.on_sent(5, 0) == verdict::suspend));
    w.on_wakeup(6, 0);
    BOOST_TEST((w.on_wakeup(6, 0) == verdict::check_sent));
    BOOST_TEST((w.on_sent(6, 0) == verdict::suspend));

    watchdog::tick_decision d = w.on_tick(0, false);
    BOOST_TEST(d.resume == (std::vector<int>{5, 6}), boost::test_tools::per_element());
    BOOST_TEST(!d.kick);
    BOOST_TEST(!w.suspended(5));
    // Counts start again from zero.
    BOOST_TEST((w.on_wakeup(5, 0) == verdict::rearm));
    BOOST_TEST(w.on_tick(0, false).resume.empty());
}

BOOST_AUTO_TEST_CASE(bytes_received_count_from_the_last_tick) {
    watchdog w(1);
    BOOST_TEST(w.on_tick(1000, false).resume.empty());
    // The count is where the tick left it: no byte since, so these are idle.
    w.on_wakeup(5, 1000);
    BOOST_TEST((w.on_wakeup(5, 1000) == verdict::check_sent));
    // One more byte received: progress again.
    BOOST_TEST((w.on_wakeup(5, 1001) == verdict::rearm));
}

BOOST_AUTO_TEST_CASE(a_stalled_tick_kicks) {
    watchdog w(10);
    BOOST_TEST(w.on_tick(0, true).kick);
    BOOST_TEST(!w.on_tick(0, false).kick);
}

BOOST_AUTO_TEST_SUITE_END()
