#ifndef CURLASIO_DETAIL_BODY_SINK_HPP
#define CURLASIO_DETAIL_BODY_SINK_HPP

// Where a transfer's response body goes: the seam behind libcurl's write
// callback. The engine's own sinks store the body (response::body) or hand
// it to request::on_body; a download stream or a Beast body reader is
// another sink. Called on the engine's executor, inside libcurl.

#include <curlasio/error.hpp>
#include <curlasio/response.hpp>

#include <cstdint>
#include <optional>
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

/// The final response head, as a view valid during the call.
struct head_view {
    int status = 0;
    std::string_view reason;
    const header_list& headers;
    /// As response::version counts it (11, 20, ...); 0 if unknown.
    unsigned version = 0;
    /// What Content-Length announced (of the encoded body, if libcurl
    /// decodes it); nullopt when the length is not known in advance.
    std::optional<std::uint64_t> content_length;
    std::string_view effective_url;
};

class body_sink {
public:
    /// The head of the response whose body follows, once per transfer,
    /// before the first chunk: at the end of a head that libcurl will not
    /// follow (not a redirect it follows, not a 401/407 it may answer), or at
    /// the latest with the first body byte. A transfer that ends before
    /// either (a failure, or a redirect whose target never answered) never
    /// tells one. An error fails the transfer with it.
    virtual error_code on_head(const head_view&) { return {}; }

    /// A chunk of the (decoded) body. libcurl cannot take part of a chunk,
    /// so a sink takes all of it or none. May throw: the transfer then ends
    /// with errc::callback_threw and the exception in the response.
    virtual sink_result consume(std::string_view chunk) = 0;

protected:
    ~body_sink() = default;
};

} // namespace curlasio::detail

#endif
