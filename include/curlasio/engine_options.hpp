#ifndef CURLASIO_ENGINE_OPTIONS_HPP
#define CURLASIO_ENGINE_OPTIONS_HPP

/// @file
/// curlasio::engine_options: connection limits, the admission limit, HTTP/2
/// multiplexing, the watchdog, how sockets are made.

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace curlasio {

/// Settings of one engine (its CURLM*), fixed at construction.
struct engine_options {
    /// Open connections at most, over all hosts; 0: unlimited
    /// (CURLMOPT_MAX_TOTAL_CONNECTIONS). Transfers beyond it wait in a queue.
    long max_total_connections = 0;
    /// Open connections at most to one host; 0: unlimited
    /// (CURLMOPT_MAX_HOST_CONNECTIONS).
    long max_host_connections = 0;
    /// Idle connections kept for reuse (CURLMOPT_MAXCONNECTS); 0: four per
    /// transfer at the engine's busiest moment so far (libcurl's own default
    /// is four per transfer running at the moment a connection goes idle,
    /// which a batch of completions shrinks, closing connections the next
    /// transfers would have reused).
    long max_idle_connections = 0;
    /// The admission limit: transfers inside libcurl at once, at most; 0: no
    /// limit. The rest wait in the engine's own queue, first in first out
    /// for each origin (scheme, host and port) and taking the origins in
    /// turn, holding no easy handle and no socket; cancelling a queued fetch
    /// completes it at once with operation_aborted (any cancellation type:
    /// nothing was sent). Use it for many short requests to few hosts: libcurl
    /// 7.88's cost per transfer grows with the connections open to a host
    /// (it walks its connection cache on every start and end), and its own
    /// queue (max_total_connections) walks every waiting transfer on each
    /// completion. Do not use it for long polls or streams that stay open:
    /// they hold their places, and the fetches behind them wait.
    std::size_t max_running_transfers = 0;
    /// With an admission limit, queued fetches at most; a fetch beyond it
    /// completes at once with errc::queue_full. 0: no bound.
    std::size_t max_queued_transfers = 0;
    /// Multiplex HTTP/2 streams over one connection (CURLMOPT_PIPELINING).
    bool multiplex = true;
    /// Streams per HTTP/2 connection at most (CURLMOPT_MAX_CONCURRENT_STREAMS).
    long max_concurrent_streams = 100;

    /// How often the stall watchdog looks at the engine while transfers run;
    /// zero turns it off. It repairs what should never happen but would
    /// otherwise hang or spin silently (see engine_stats): transfers running
    /// with no wait and no timer armed get every transfer driven once; a
    /// socket that keeps waking the engine while no transfer receives a byte
    /// has its waits suspended until the next look.
    std::chrono::milliseconds watchdog_interval{1000};
    /// Wake-ups of one socket within one watchdog interval, with no byte
    /// received by any transfer, that make it count as busy.
    std::uint32_t busy_wakeup_limit = 10000;

    /// How the engine makes a socket for libcurl (to set socket options, mark
    /// or count sockets, or hand out AF_UNIX sockets in tests); empty:
    /// socket(2) with the family and type libcurl asks for. Return a
    /// descriptor the engine may wait on and close, or CURL_SOCKET_BAD to fail
    /// the connection attempt. libcurl connect()s the socket itself: libcurl
    /// 7.88 ignores CURL_SOCKOPT_ALREADY_CONNECTED (curl issue #10626, fixed in
    /// 8.0.0), so a pre-connected socket does not work there. Called on the
    /// engine's executor; an exception counts as CURL_SOCKET_BAD.
    std::function<curl_socket_t(curlsocktype purpose, const curl_sockaddr& address)> open_socket;
};

} // namespace curlasio

#endif
