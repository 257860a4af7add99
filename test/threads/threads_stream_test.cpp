// Streams on an engine whose strand four threads run, read and written by
// coroutines on the plain io_context (any thread): the stream's state stays
// on the engine's strand, the buffers and handlers cross threads through
// posts only. Also built with ThreadSanitizer.

#include <toolkit/io_threads.hpp>
#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstring>
#include <future>
#include <optional>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace asio = boost::asio;
using namespace curlasio;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

struct fixture {
    curlasio::test::test_server server;
    asio::io_context io{4};
    asio::strand<asio::io_context::executor_type> engine_strand = asio::make_strand(io);
    std::optional<engine> eng{std::in_place, engine::executor_type(engine_strand)};
    curlasio::test::io_threads runners{io, 4};

    ~fixture() {
        eng.reset();
        BOOST_TEST(runners.stop());
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(threads_streams, fixture)

BOOST_AUTO_TEST_CASE(downloads_read_from_other_threads_get_every_byte) {
    constexpr int streams = 4;
    constexpr std::size_t size = 2 * 1024 * 1024;
    std::atomic<int> good{0};
    std::vector<std::future<void>> done;
    for (int i = 0; i < streams; ++i)
        done.push_back(asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                download_stream s(*eng, 32 * 1024); // small: many pauses and resumes
                auto [ec, head] =
                    co_await s.async_open(request(server.url("/bytes/" + std::to_string(size))), nothrow);
                if (ec)
                    co_return;
                std::string body;
                std::array<char, 8192> buf;
                for (;;) {
                    auto [rec, n] = co_await s.async_read_some(asio::buffer(buf), nothrow);
                    body.append(buf.data(), n);
                    if (rec)
                        break;
                }
                if (body == curlasio::test::pattern(size))
                    ++good;
            },
            asio::use_future));
    for (auto& f : done)
        BOOST_TEST_REQUIRE((f.wait_for(300s) == std::future_status::ready));
    BOOST_TEST(good.load() == streams);
}

BOOST_AUTO_TEST_CASE(an_upload_from_a_pipe_written_on_another_thread) {
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    asio::posix::stream_descriptor in(io, fds[0]), out(io, fds[1]);
    constexpr std::size_t size = 4 * 1024 * 1024;
    const std::string data = curlasio::test::pattern(size);
    auto writer = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (std::size_t at = 0; at < size; at += 65536)
                co_await asio::async_write(
                    out, asio::buffer(data.data() + at, std::min<std::size_t>(65536, size - at)),
                    asio::use_awaitable);
            out.close();
        },
        asio::use_future);
    request req(server.url("/sink"), verb::put);
    req.upload = upload_source::from_stream(in);
    auto f = async_fetch(*eng, std::move(req), asio::use_future);
    BOOST_TEST_REQUIRE((f.wait_for(300s) == std::future_status::ready));
    BOOST_TEST_REQUIRE((writer.wait_for(60s) == std::future_status::ready));
    BOOST_TEST(f.get().body == curlasio::test::sink_answer(size, "chunked"));
}

BOOST_AUTO_TEST_CASE(a_function_source_completing_on_a_thread_of_its_own) {
    // f hands each read to a worker thread, which fills the buffer and calls
    // `done` there: the source's state is touched on the engine's strand only.
    constexpr std::size_t size = 4 * 1024 * 1024 + 3;
    const std::string data = curlasio::test::pattern(size);
    asio::thread_pool worker(1);
    std::size_t at = 0; // the worker's alone: one read at a time
    request req(server.url("/sink"), verb::put);
    req.upload = upload_source::from_function(
        io.get_executor(),
        [&](asio::mutable_buffer into, asio::any_completion_handler<void(error_code, std::size_t)> done) {
            asio::post(worker, [&, into, done = std::move(done)]() mutable {
                const std::size_t n = std::min(into.size(), size - at);
                std::memcpy(into.data(), data.data() + at, n);
                at += n;
                std::move(done)(n ? error_code() : asio::error::eof, n);
            });
        });
    auto f = async_fetch(*eng, std::move(req), asio::use_future);
    BOOST_TEST_REQUIRE((f.wait_for(300s) == std::future_status::ready));
    BOOST_TEST(f.get().body == curlasio::test::sink_answer(size, "chunked"));
    worker.join();
}

BOOST_AUTO_TEST_SUITE_END()
