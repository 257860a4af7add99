// stream_download: a body read as it arrives, written to stdout as it
// comes, in memory that does not grow with the body:
//
//   stream_download URL > file
//
// While stdout is slow (a pipe to a slow consumer), curlasio pauses the
// transfer instead of buffering: the download_stream holds at most its
// buffer limit (256 KiB by default) plus one chunk of libcurl's.

#include <curlasio/curlasio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <iostream>

#include <unistd.h>

namespace asio = boost::asio;

//[download
asio::awaitable<int> download(curlasio::engine& eng, std::string url) {
    auto ex = co_await asio::this_coro::executor;
    constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

    curlasio::download_stream body(eng);
    curlasio::request req(std::move(url));
    req.options.redirects.follow = true;
    auto [ec, head] = co_await body.async_open(std::move(req), nothrow);
    if (ec) {
        std::cerr << "failed: " << head.error_message << '\n';
        co_return 1;
    }
    std::cerr << head.status << ' ' << head.reason << '\n';

    asio::posix::stream_descriptor out(ex, ::dup(STDOUT_FILENO));
    std::array<char, 64 * 1024> buf;
    for (;;) {
        auto [rec, n] = co_await body.async_read_some(asio::buffer(buf), nothrow);
        if (n > 0)
            co_await asio::async_write(out, asio::buffer(buf.data(), n), asio::use_awaitable);
        if (rec == asio::error::eof)
            break; // the whole body
        if (rec) {
            std::cerr << "failed mid-body: " << rec.message() << '\n';
            co_return 1;
        }
    }
    std::cerr << body.result().bytes_received << " bytes in "
              << std::chrono::duration<double>(body.result().times.total).count() << " s\n";
    co_return 0;
}
//]

int main(int argc, char* argv[]) {
    if (argc != 2) {
        std::cerr << "usage: stream_download URL > file\n";
        return 2;
    }
    asio::io_context io;
    curlasio::engine eng(io);
    int status = 1;
    asio::co_spawn(io, download(eng, argv[1]), [&](std::exception_ptr e, int s) {
        if (e)
            std::rethrow_exception(e);
        status = s;
    });
    io.run();
    return status;
}
