// download_flow: the stream's decisions without sockets.

#include "detail/download_flow.hpp"

#include <boost/test/unit_test.hpp>

using curlasio::detail::download_flow;

BOOST_AUTO_TEST_SUITE(download_flow_decisions)

BOOST_AUTO_TEST_CASE(takes_chunks_up_to_the_limit_then_pauses) {
    download_flow f(64);
    BOOST_TEST(f.offer(16));
    BOOST_TEST(f.offer(16));
    BOOST_TEST(f.offer(32)); // exactly the limit
    BOOST_TEST(!f.offer(1));
    BOOST_TEST(f.paused());
    BOOST_TEST(f.held() == 64u);
    BOOST_TEST(!f.offer(1)); // the same chunk again, still paused: one pause counted
    BOOST_TEST(f.pauses() == 1u);
}

BOOST_AUTO_TEST_CASE(an_empty_stream_takes_a_chunk_above_the_limit) {
    download_flow f(10);
    BOOST_TEST(f.offer(100));
    BOOST_TEST(f.held() == 100u);
    BOOST_TEST(!f.offer(1));
}

BOOST_AUTO_TEST_CASE(resumes_once_the_reader_brings_it_to_half) {
    download_flow f(100);
    BOOST_TEST(f.offer(100));
    BOOST_TEST(!f.offer(10));
    BOOST_TEST(!f.taken(40)); // 60 held: above half
    BOOST_TEST(f.paused());
    BOOST_TEST(f.taken(10)); // 50: resume
    BOOST_TEST(!f.paused());
    BOOST_TEST(!f.taken(50)); // not paused: nothing to resume
    BOOST_TEST(f.held() == 0u);
}

BOOST_AUTO_TEST_CASE(never_holds_more_than_the_limit_plus_one_chunk) {
    download_flow f(1000);
    std::size_t most = 0;
    for (int round = 0; round < 10000; ++round) {
        const std::size_t chunk = 1 + static_cast<std::size_t>(round * 7919) % 300;
        if (f.offer(chunk))
            most = std::max(most, f.held());
        if (round % 3 == 0)
            f.taken(static_cast<std::size_t>(round * 104729) % 400);
    }
    BOOST_TEST(most <= 1000u + 300u);
}

BOOST_AUTO_TEST_CASE(a_zero_limit_is_one_byte) {
    download_flow f(0);
    BOOST_TEST(f.limit() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
