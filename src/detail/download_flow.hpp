#ifndef CURLASIO_SRC_DETAIL_DOWNLOAD_FLOW_HPP
#define CURLASIO_SRC_DETAIL_DOWNLOAD_FLOW_HPP

// The flow control of a download stream, without sockets: how much it
// holds for its reader, when a chunk from libcurl pauses the transfer, and
// when the reader's progress resumes it.
//
// libcurl's write callback cannot take part of a chunk, so a chunk is taken
// whole while the stream holds less than its limit together with it (or
// holds nothing, so that a chunk above the limit still passes), and
// otherwise refused: libcurl keeps it, paused. The transfer resumes once the
// reader has brought what is held down to half the limit, so that a reader
// as fast as the network does not pause and resume per chunk. What the
// stream holds is therefore below limit + one chunk, and libcurl keeps at
// most the refused chunk (over HTTP/2, also what the peer's window let it
// send meanwhile).

#include <cstddef>
#include <cstdint>

namespace curlasio::detail {

class download_flow {
public:
    explicit download_flow(std::size_t limit) noexcept : limit_(limit ? limit : 1) {}

    /// libcurl offers a chunk of `n` bytes: true to take it (it is then
    /// held), false to pause the transfer.
    bool offer(std::size_t n) noexcept {
        if (held_ == 0 || held_ + n <= limit_) {
            held_ += n;
            return true;
        }
        if (!paused_)
            ++pauses_;
        paused_ = true;
        return false;
    }

    /// The reader took `n` of the bytes held: true when the transfer is to
    /// be resumed now.
    bool taken(std::size_t n) noexcept {
        held_ -= n <= held_ ? n : held_;
        if (paused_ && held_ <= limit_ / 2) {
            paused_ = false;
            return true;
        }
        return false;
    }

    std::size_t held() const noexcept { return held_; }
    std::size_t limit() const noexcept { return limit_; }
    bool paused() const noexcept { return paused_; }
    /// How many times a chunk paused the transfer.
    std::uint64_t pauses() const noexcept { return pauses_; }

private:
    std::size_t limit_;
    std::size_t held_ = 0;
    bool paused_ = false;
    std::uint64_t pauses_ = 0;
};

} // namespace curlasio::detail

#endif
