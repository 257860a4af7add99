// Scripted sequences against the sans-io admission queue: which transfers
// run, which wait, the order they run in, cancellation and the bound.

#include "detail/admission_queue.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <vector>

using curlasio::detail::admission_queue;
using curlasio::detail::origin_of;
using verdict = admission_queue::verdict;

namespace {

// Ends running transfers one at a time and records who runs in their place,
// until nothing waits.
std::vector<std::uint64_t> run_out(admission_queue& q) {
    std::vector<std::uint64_t> order;
    while (auto next = q.finished())
        order.push_back(*next);
    return order;
}

} // namespace

BOOST_AUTO_TEST_SUITE(admission_queue_suite)

BOOST_AUTO_TEST_CASE(transfers_run_up_to_the_limit_then_wait) {
    admission_queue q(2, 0);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    BOOST_TEST((q.submit(2, "http://a") == verdict::run));
    BOOST_TEST((q.submit(3, "http://a") == verdict::queued));
    BOOST_TEST(q.running() == 2u);
    BOOST_TEST(q.queued() == 1u);
    BOOST_TEST((q.finished() == std::optional<std::uint64_t>(3)));
    BOOST_TEST(q.running() == 2u);
    BOOST_TEST(q.queued() == 0u);
    BOOST_TEST(!q.finished());
    BOOST_TEST(q.running() == 1u);
    // A free place and nobody waiting: the next one runs at once.
    BOOST_TEST((q.submit(4, "http://a") == verdict::run));
}

BOOST_AUTO_TEST_CASE(one_origin_is_first_in_first_out) {
    admission_queue q(1, 0);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    for (std::uint64_t id = 2; id <= 6; ++id)
        BOOST_TEST((q.submit(id, "http://a") == verdict::queued));
    BOOST_TEST((run_out(q) == std::vector<std::uint64_t>{2, 3, 4, 5, 6}));
}

BOOST_AUTO_TEST_CASE(origins_take_turns) {
    admission_queue q(1, 0);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    // a's burst was queued first, but b and c are not starved behind it.
    for (std::uint64_t id : {10, 11, 12})
        BOOST_TEST((q.submit(id, "http://a") == verdict::queued));
    BOOST_TEST((q.submit(20, "http://b") == verdict::queued));
    BOOST_TEST((q.submit(21, "http://b") == verdict::queued));
    BOOST_TEST((q.submit(30, "http://c") == verdict::queued));
    BOOST_TEST((run_out(q) == std::vector<std::uint64_t>{10, 20, 30, 11, 21, 12}));
}

BOOST_AUTO_TEST_CASE(an_origin_that_ran_dry_joins_at_the_back_again) {
    admission_queue q(1, 0);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    BOOST_TEST((q.submit(2, "http://a") == verdict::queued));
    BOOST_TEST((q.submit(3, "http://b") == verdict::queued));
    BOOST_TEST((q.finished() == std::optional<std::uint64_t>(2))); // a is dry now
    BOOST_TEST((q.submit(4, "http://a") == verdict::queued));
    BOOST_TEST((q.submit(5, "http://b") == verdict::queued));
    BOOST_TEST((run_out(q) == std::vector<std::uint64_t>{3, 4, 5}));
}

BOOST_AUTO_TEST_CASE(cancelling_a_waiter_removes_it_and_keeps_the_order) {
    admission_queue q(1, 0);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    for (std::uint64_t id : {2, 3, 4})
        BOOST_TEST((q.submit(id, "http://a") == verdict::queued));
    BOOST_TEST((q.submit(5, "http://b") == verdict::queued));
    BOOST_TEST(q.cancel(3));
    BOOST_TEST(!q.cancel(3)); // once
    BOOST_TEST(q.cancel(5));  // b's only waiter: b's line goes
    BOOST_TEST(!q.cancel(1)); // running: the caller ends it
    BOOST_TEST(!q.cancel(99));
    BOOST_TEST(q.queued() == 2u);
    BOOST_TEST(q.running() == 1u);
    BOOST_TEST((run_out(q) == std::vector<std::uint64_t>{2, 4}));
    // b's line was forgotten: a new waiter of b starts a new one.
    BOOST_TEST((q.submit(6, "http://a") == verdict::run));
    BOOST_TEST((q.submit(7, "http://b") == verdict::queued));
    BOOST_TEST((q.finished() == std::optional<std::uint64_t>(7)));
}

BOOST_AUTO_TEST_CASE(the_bound_rejects_beyond_it_and_frees_with_each_departure) {
    admission_queue q(1, 2);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    BOOST_TEST((q.submit(2, "http://a") == verdict::queued));
    BOOST_TEST((q.submit(3, "http://b") == verdict::queued));
    BOOST_TEST((q.submit(4, "http://c") == verdict::rejected));
    BOOST_TEST(q.queued() == 2u);
    BOOST_TEST(q.cancel(2));
    BOOST_TEST((q.submit(4, "http://c") == verdict::queued));
    BOOST_TEST((q.finished() == std::optional<std::uint64_t>(3)));
    BOOST_TEST((q.submit(5, "http://c") == verdict::queued));
    BOOST_TEST((q.submit(6, "http://c") == verdict::rejected));
}

BOOST_AUTO_TEST_CASE(drain_gives_every_waiter_in_running_order) {
    admission_queue q(1, 0);
    BOOST_TEST((q.submit(1, "http://a") == verdict::run));
    for (std::uint64_t id : {2, 3})
        BOOST_TEST((q.submit(id, "http://a") == verdict::queued));
    BOOST_TEST((q.submit(4, "http://b") == verdict::queued));
    BOOST_TEST((q.drain() == std::vector<std::uint64_t>{2, 4, 3}));
    BOOST_TEST(q.queued() == 0u);
    BOOST_TEST(q.running() == 1u); // the running one is the caller's to end
    BOOST_TEST(!q.finished());
    BOOST_TEST(q.running() == 0u);
}

BOOST_AUTO_TEST_CASE(a_long_queue_runs_out_in_order) {
    admission_queue q(64, 0);
    std::vector<std::uint64_t> expected;
    for (std::uint64_t id = 0; id < 4000; ++id) {
        const verdict v = q.submit(id, "http://a");
        BOOST_TEST((v == (id < 64 ? verdict::run : verdict::queued)));
        if (id >= 64)
            expected.push_back(id);
    }
    BOOST_TEST((run_out(q) == expected));
    BOOST_TEST(q.running() == 63u); // the last finished() found nobody to start
}

BOOST_AUTO_TEST_CASE(origins_are_scheme_user_host_and_port) {
    BOOST_TEST(origin_of("http://a.example:8080/path?q#f") == "http://a.example:8080");
    BOOST_TEST(origin_of("https://a.example?q") == "https://a.example");
    BOOST_TEST(origin_of("https://a.example#f") == "https://a.example");
    BOOST_TEST(origin_of("http://u:p@[::1]:80/x") == "http://u:p@[::1]:80");
    BOOST_TEST(origin_of("http://a.example") == "http://a.example");
    BOOST_TEST(origin_of("not a url") == "not a url");
}

BOOST_AUTO_TEST_SUITE_END()
