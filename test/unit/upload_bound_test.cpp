// The framing rule of a streamed request body, without a socket: what a
// source may be asked for, when the body is complete, and what a source that
// overruns its buffer or ends short of its size gets.

#include <curlasio/detail/upload_bound.hpp>

#include <boost/test/unit_test.hpp>

using curlasio::errc;
using curlasio::detail::upload_bound;

BOOST_AUTO_TEST_SUITE(upload_bound_suite)

BOOST_AUTO_TEST_CASE(without_a_size_every_buffer_may_be_filled) {
    upload_bound b;
    BOOST_TEST(b.capacity(65536) == 65536u);
    BOOST_TEST(!b.on_data(65536, 65536));
    BOOST_TEST(!b.complete());
    BOOST_TEST(b.capacity(16) == 16u);
    BOOST_TEST(!b.on_eof());
    BOOST_TEST(b.taken() == 65536u);
}

BOOST_AUTO_TEST_CASE(a_known_size_bounds_every_read_and_ends_the_body) {
    upload_bound b(10);
    BOOST_TEST(b.capacity(65536) == 10u);
    BOOST_TEST(!b.on_data(4, 10));
    BOOST_TEST(b.capacity(65536) == 6u);
    BOOST_TEST(b.capacity(3) == 3u);
    BOOST_TEST(!b.on_data(6, 6));
    BOOST_TEST(b.complete());
    BOOST_TEST(b.capacity(65536) == 0u);
    BOOST_TEST(!b.on_eof());
}

BOOST_AUTO_TEST_CASE(a_read_that_reports_more_than_it_was_asked_for_is_an_overrun) {
    for (upload_bound b : {upload_bound(), upload_bound(100)}) {
        BOOST_TEST((b.on_data(17, 16) == errc::upload_overrun));
        BOOST_TEST(b.taken() == 0u); // nothing of it counts
    }
}

BOOST_AUTO_TEST_CASE(an_end_short_of_the_size_is_a_mismatch) {
    upload_bound b(10);
    BOOST_TEST(!b.on_data(9, 10));
    BOOST_TEST((b.on_eof() == errc::upload_size_mismatch));
    upload_bound empty(0);
    BOOST_TEST(empty.complete());
    BOOST_TEST(empty.capacity(100) == 0u);
    BOOST_TEST(!empty.on_eof());
}

BOOST_AUTO_TEST_SUITE_END()
