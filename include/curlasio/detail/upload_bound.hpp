#ifndef CURLASIO_DETAIL_UPLOAD_BOUND_HPP
#define CURLASIO_DETAIL_UPLOAD_BOUND_HPP

// The framing rule of a streamed request body (sans-io): with a known size,
// sent as Content-Length, exactly that many bytes go out, never one more.
// libcurl sends whatever its read callback returns, so a byte past the size
// would reach the wire after the body, where a keep-alive peer parses it as
// a request of its own (request smuggling). Every reader of a body (the read
// callback, and a source's own read ahead) asks through one of these.

#include <curlasio/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace curlasio::detail {

class upload_bound {
public:
    explicit upload_bound(std::optional<std::uint64_t> size = std::nullopt) noexcept : size_(size) {}

    /// How much of a buffer of `offered` bytes may be filled: all of it
    /// without a size, at most what remains of a known size.
    std::size_t capacity(std::size_t offered) const noexcept {
        if (!size_)
            return offered;
        return static_cast<std::size_t>(std::min<std::uint64_t>(offered, *size_ - taken_));
    }
    /// A known size was reached: the body is complete, and whatever the
    /// source still holds is not read.
    bool complete() const noexcept { return size_ && taken_ == *size_; }
    /// `n` bytes came from a read that asked for `asked`: counted, or
    /// errc::upload_overrun when a source says it wrote more than it was
    /// given room for (nothing of such a read is sent).
    error_code on_data(std::size_t n, std::size_t asked) noexcept {
        if (n > asked)
            return errc::upload_overrun;
        taken_ += n;
        return {};
    }
    /// The source ended: errc::upload_size_mismatch when that is before a
    /// known size (the peer waits for the rest of the body).
    error_code on_eof() const noexcept {
        if (size_ && taken_ < *size_)
            return errc::upload_size_mismatch;
        return {};
    }
    /// The bytes counted so far.
    std::uint64_t taken() const noexcept { return taken_; }

private:
    std::optional<std::uint64_t> size_;
    std::uint64_t taken_ = 0;
};

} // namespace curlasio::detail

#endif
