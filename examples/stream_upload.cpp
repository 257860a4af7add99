// stream_upload: standard input sent as a request body while it is read,
// never held whole:
//
//   some-producer | stream_upload URL        (PUT, chunked)
//
// When the producer is slower than the network, curlasio pauses the upload
// (CURL_READFUNC_PAUSE) until the next read of stdin completes.

#include <curlasio/curlasio.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

#include <unistd.h>

namespace asio = boost::asio;

//[upload
asio::awaitable<int> upload(curlasio::engine& eng, std::string url) {
    auto ex = co_await asio::this_coro::executor;
    // Any Asio read stream will do: a pipe, a socket, a download_stream.
    asio::posix::stream_descriptor in(ex, ::dup(STDIN_FILENO));

    curlasio::request req(std::move(url), curlasio::verb::put);
    req.upload = curlasio::upload_source::from_stream(in); // size unknown: chunked
    auto [ec, res] = co_await curlasio::async_fetch(eng, std::move(req), asio::as_tuple(asio::use_awaitable));
    if (ec) {
        std::cerr << "failed: " << res.error_message << '\n';
        co_return 1;
    }
    std::cout << res.status << ' ' << res.body << '\n';
    co_return res.status < 400 ? 0 : 1;
}
//]

int main(int argc, char* argv[]) {
    if (argc != 2) {
        std::cerr << "usage: producer | stream_upload URL\n";
        return 2;
    }
    asio::io_context io;
    curlasio::engine eng(io);
    int status = 1;
    asio::co_spawn(io, upload(eng, argv[1]), [&](std::exception_ptr e, int s) {
        if (e)
            std::rethrow_exception(e);
        status = s;
    });
    io.run();
    return status;
}
