#ifndef CURLASIO_DETAIL_RESPONSE_HEAD_PARSER_HPP
#define CURLASIO_DETAIL_RESPONSE_HEAD_PARSER_HPP

// Sans-io: the response heads of one transfer, from the lines libcurl's
// header callback hands over (each with its CRLF). The status line comes
// first and an empty line ends a head; a 1xx or a followed redirect then
// starts the next one, and only the last head's status, reason and fields
// are kept. At the end of a final head its Content-Length fields are made
// to say how libcurl framed the body: none beside Transfer-Encoding (RFC
// 9112 6.3: the encoding overrides the length, and a forwarder must remove
// it), and one, the figure libcurl reads (the last one's leading digits), in
// place of several or of one with more than digits. So no head handed out
// (response::headers, a download_stream's open, a Beast response) pairs a
// length with a body libcurl framed otherwise. No handle, no socket: unit tested line by line
// (test/unit/response_head_parser_test.cpp). Lives in a public detail
// header only because easy_handle holds one by value.

#include <curlasio/response.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace curlasio::detail {

class response_head_parser {
public:
    enum class event {
        line,        ///< a status line or a field of the current head
        interim_end, ///< the end of a 1xx head: another follows
        final_end,   ///< the end of a final head (which a redirect may still follow)
    };

    /// Takes one line. May throw std::bad_alloc, and std::length_error past
    /// what a string can hold.
    event on_line(std::string_view line);

    /// Bytes of the current head so far, for a cap on it.
    std::size_t head_bytes() const noexcept { return head_bytes_; }
    /// A final head has ended, and no later head has begun since.
    bool final_head_done() const noexcept { return final_done_; }

    int status() const noexcept { return status_; }
    std::string& reason() noexcept { return reason_; }
    header_list& headers() noexcept { return headers_; }
    const std::string& reason() const noexcept { return reason_; }
    const header_list& headers() const noexcept { return headers_; }

private:
    void settle_framing();

    int status_ = 0;
    std::string reason_;
    header_list headers_;
    std::size_t head_bytes_ = 0;
    bool at_status_line_ = true; // the next line starts a head
    bool final_done_ = false;
};

} // namespace curlasio::detail

#endif
