#ifndef CURLASIO_DETAIL_BODY_SINK_HPP
#define CURLASIO_DETAIL_BODY_SINK_HPP

// Where a transfer's response body goes: the seam behind libcurl's write
// callback. The engine's own sinks store the body (response::body) or hand
// it to request::on_body; a stream or a Beast body reader is another sink.
// Called on the engine's executor, inside libcurl.

#include <curlasio/error.hpp>

#include <string_view>

namespace curlasio::detail {

enum class sink_status {
    consumed, ///< all of the chunk was taken
    pause,    ///< none of it: libcurl keeps the chunk and hands it over again
              ///< once the transfer is resumed (detail::resume_async)
    fail,     ///< none of it, and the transfer ends with sink_result::ec
};

struct sink_result {
    sink_status status = sink_status::consumed;
    error_code ec;
};

class body_sink {
public:
    /// A chunk of the (decoded) body. libcurl cannot take part of a chunk,
    /// so a sink takes all of it or none. May throw: the transfer then ends
    /// with errc::callback_threw and the exception in the response.
    virtual sink_result consume(std::string_view chunk) = 0;

protected:
    ~body_sink() = default;
};

} // namespace curlasio::detail

#endif
