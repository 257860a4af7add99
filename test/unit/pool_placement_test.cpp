// Scripted sequences against the sans-io pool placement: fetches placed and
// finished, the engines chosen, with no engine and no socket.

#include "detail/pool_placement.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using curlasio::detail::origin_key;
using curlasio::detail::pool_placement;

BOOST_AUTO_TEST_SUITE(pool_placement_suite)

BOOST_AUTO_TEST_CASE(origin_is_scheme_host_and_port) {
    const auto a = origin_key("http://example.com/x?y");
    BOOST_TEST(a == origin_key("HTTP://Example.COM:80/other"));
    BOOST_TEST(a == origin_key("http://user:pw@example.com#f"));
    BOOST_TEST(a != origin_key("https://example.com/x"));
    BOOST_TEST(origin_key("https://example.com/") == origin_key("https://example.com:443"));
    BOOST_TEST(a != origin_key("http://example.com:8080/x"));
    BOOST_TEST(origin_key("http://[::1]/") == origin_key("http://[::1]:80/"));
    BOOST_TEST(origin_key("http://[::1]:81/") != origin_key("http://[::1]/"));
}

BOOST_AUTO_TEST_CASE(without_credit_the_least_loaded_lowest_first) {
    pool_placement p(3);
    const auto o = origin_key("http://h/");
    std::vector<std::uint32_t> chosen;
    for (int i = 0; i < 6; ++i)
        chosen.push_back(p.place(o).engine);
    BOOST_TEST(chosen == (std::vector<std::uint32_t>{0, 1, 2, 0, 1, 2}), boost::test_tools::per_element());
    for (std::size_t e = 0; e < 3; ++e)
        BOOST_TEST(p.in_flight(e) == 2u);
}

BOOST_AUTO_TEST_CASE(a_closed_loop_stays_on_its_connections) {
    // 64 in flight over 4 engines: each completion's next fetch goes where
    // the idle connection is, so no engine ever needs a 17th connection.
    pool_placement p(4);
    const auto o = origin_key("http://h/");
    std::vector<pool_placement::ticket> running;
    for (int i = 0; i < 64; ++i)
        running.push_back(p.place(o));
    for (int round = 0; round < 1000; ++round) {
        // A batch of completions on one engine, then their next fetches.
        const std::uint32_t e = static_cast<std::uint32_t>(round % 4);
        std::vector<std::size_t> done;
        for (std::size_t i = 0; i < running.size() && done.size() < 3; ++i)
            if (running[i].engine == e)
                done.push_back(i);
        for (std::size_t i : done)
            p.finished(running[i], true);
        for (std::size_t i : done) {
            running[i] = p.place(o);
            BOOST_TEST(running[i].engine == e);
        }
    }
    for (std::size_t e = 0; e < 4; ++e)
        BOOST_TEST(p.in_flight(e) == 16u);
}

BOOST_AUTO_TEST_CASE(credit_is_per_origin_and_failures_give_none) {
    pool_placement p(2);
    const auto a = origin_key("http://a/"), b = origin_key("http://b:81/");
    auto t0 = p.place(a);
    auto t1 = p.place(b);
    BOOST_TEST(t0.engine == 0u);
    BOOST_TEST(t1.engine == 1u);
    p.finished(t1, true);  // engine 1 has an idle connection to b
    p.finished(t0, false); // engine 0's failed: no idle connection to a
    BOOST_TEST(p.credits(1, b) == 1u);
    BOOST_TEST(p.credits(0, a) == 0u);
    BOOST_TEST(p.place(b).engine == 1u); // reuse, although both are idle
    BOOST_TEST(p.credits(1, b) == 0u);
    BOOST_TEST(p.place(a).engine == 0u); // least loaded
}

BOOST_AUTO_TEST_CASE(reuse_yields_to_balance) {
    pool_placement p(2);
    const auto o = origin_key("https://h/");
    // Eight run at once (alternating); engine 0's end well (4 credits),
    // engine 1's fail. Both idle then.
    std::vector<pool_placement::ticket> t;
    for (int i = 0; i < 8; ++i)
        t.push_back(p.place(o));
    for (auto& x : t)
        p.finished(x, x.engine == 0);
    BOOST_TEST(p.credits(0, o) == 4u);
    BOOST_TEST(p.credits(1, o) == 0u);
    std::vector<std::uint32_t> chosen;
    for (int i = 0; i < 6; ++i)
        chosen.push_back(p.place(o).engine);
    // Reuse while engine 0 holds at most 1 + min/4 more than the least loaded.
    BOOST_TEST(chosen == (std::vector<std::uint32_t>{0, 0, 1, 0, 1, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_fetch_stays_on_its_callers_thread_within_balance) {
    // Engines 0 and 2 on one io_context (group 0), 1 and 3 on another.
    pool_placement p(std::vector<std::uint32_t>{0, 1, 0, 1});
    BOOST_TEST(p.groups() == 2u);
    BOOST_TEST(p.group(3) == 1u);
    const auto o = origin_key("http://h/");
    // No credit, all idle: on a tie the caller's group first.
    auto t = p.place(o, 1);
    BOOST_TEST(t.engine == 1u);
    p.finished(t, false);
    // 40 from no pool thread (10 each), all ending well: 10 credits each;
    // then 2 in flight on each.
    std::vector<pool_placement::ticket> running;
    for (int i = 0; i < 40; ++i)
        running.push_back(p.place(o));
    for (auto& x : running)
        p.finished(x, true);
    for (int i = 0; i < 8; ++i)
        BOOST_TEST(p.place(o).engine == static_cast<std::uint32_t>(i % 4));
    // From group 1's thread: its engines while within min + 1 + min / 4 of
    // the least loaded (3 here), then the others, then its own again.
    std::vector<std::uint32_t> chosen;
    for (int i = 0; i < 7; ++i)
        chosen.push_back(p.place(o, 1).engine);
    BOOST_TEST(chosen == (std::vector<std::uint32_t>{1, 3, 1, 3, 0, 2, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
