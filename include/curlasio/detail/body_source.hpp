#ifndef CURLASIO_DETAIL_BODY_SOURCE_HPP
#define CURLASIO_DETAIL_BODY_SOURCE_HPP

// Where a request body streamed while the transfer runs comes from: the
// seam behind libcurl's read callback. An Asio read stream, a file and a
// Beast body writer are sources (upload_source.hpp, beast.hpp). Called on
// the engine's executor, inside libcurl, except where said.

#include <curlasio/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace curlasio::detail {

class engine_impl;

enum class source_status {
    data,  ///< result::size bytes were written to the buffer
    pause, ///< nothing is ready: the source resumes the transfer
           ///< (detail::resume_async) once something is
    eof,   ///< the body is complete
    fail,  ///< the transfer ends with result::ec
};

struct source_result {
    source_status status = source_status::data;
    std::size_t size = 0;
    error_code ec;
};

class body_source {
public:
    /// The body's length when known in advance (sent as Content-Length),
    /// nullopt for chunked transfer coding (HTTP/1.1) or DATA frames until
    /// the end (HTTP/2). Called once, before the transfer starts.
    virtual std::optional<std::uint64_t> size() const = 0;
    /// Before libcurl runs the transfer: whom to resume after a pause.
    /// Fails (errc::upload_in_use) a source already feeding a transfer.
    virtual error_code attach(std::weak_ptr<engine_impl> engine, std::uint64_t transfer_id) = 0;
    /// Fills up to `capacity` bytes at `buffer`. Never blocks on the
    /// network; may read a local file. May throw: the transfer then ends
    /// with errc::callback_threw.
    virtual source_result produce(char* buffer, std::size_t capacity) = 0;
    /// The transfer ended: a read in progress is cancelled and nothing is
    /// resumed any more.
    virtual void detach() noexcept = 0;

protected:
    ~body_source() = default;
};

} // namespace curlasio::detail

#endif
