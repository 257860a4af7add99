#ifndef CURLASIO_RESPONSE_HPP
#define CURLASIO_RESPONSE_HPP

/// @file
/// curlasio::response, header_list, timings: what a transfer produced.

// curlasio::response: what a transfer produced. Delivered with every
// completion, also a failed one: then it holds whatever arrived before the
// failure (partial body, headers) and libcurl's detailed error text.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curlasio {

/// Response header fields in arrival order, repeats kept, looked up without
/// regard to case. Every field's bytes live in one buffer (two allocations
/// per response, not two per field); the string_views it hands out stay
/// valid until the list is modified.
class header_list {
public:
    /// A field as (name, value), viewing the list's storage.
    using value_type = std::pair<std::string_view, std::string_view>;

    /// A forward iterator over the fields, in order; dereferenced, a (name, value)
    /// pair viewing the list's storage.
    class const_iterator {
    public:
        /// A forward iterator.
        using iterator_category = std::forward_iterator_tag;
        /// A field as (name, value).
        using value_type = header_list::value_type;
        /// Distance between positions.
        using difference_type = std::ptrdiff_t;
        /// Fields are returned by value (string_views into the list).
        using reference = value_type;
        /// None: fields are returned by value.
        using pointer = void;

        const_iterator() = default;
        /// The field at this position.
        value_type operator*() const noexcept { return list_->field(index_); }
        /// Moves to the next field.
        const_iterator& operator++() noexcept {
            ++index_;
            return *this;
        }
        /// Moves to the next field; returns the position before.
        const_iterator operator++(int) noexcept {
            const_iterator old = *this;
            ++index_;
            return old;
        }
        /// Same position (of the same list).
        friend bool operator==(const const_iterator& a, const const_iterator& b) noexcept {
            return a.index_ == b.index_;
        }

    private:
        friend class header_list;
        const_iterator(const header_list* list, std::size_t index) noexcept : list_(list), index_(index) {}
        const header_list* list_ = nullptr;
        std::size_t index_ = 0;
    };

    /// The first value of `name`, or nullopt.
    std::optional<std::string_view> find(std::string_view name) const noexcept;
    /// Every value of `name`, in order.
    std::vector<std::string_view> find_all(std::string_view name) const;
    /// Whether `name` is present.
    bool contains(std::string_view name) const noexcept { return find(name).has_value(); }

    /// Appends a field (as received: no check, no folding).
    void add(std::string_view name, std::string_view value);
    /// Appends " more" to the last field's value (obsolete line folding).
    void extend_last(std::string_view more);
    /// Removes every field.
    void clear() noexcept {
        bytes_.clear();
        fields_.clear();
    }
    /// Number of fields, repeats counted.
    std::size_t size() const noexcept { return fields_.size(); }
    /// Whether there is no field.
    bool empty() const noexcept { return fields_.empty(); }
    /// The first field.
    const_iterator begin() const noexcept { return {this, 0}; }
    /// Past the last field.
    const_iterator end() const noexcept { return {this, fields_.size()}; }

private:
    // Offsets into bytes_: name then value, back to back.
    struct entry {
        std::uint32_t name_at;
        std::uint32_t name_size;
        std::uint32_t value_size;
    };
    value_type field(std::size_t i) const noexcept {
        const entry& f = fields_[i];
        std::string_view all(bytes_);
        return {all.substr(f.name_at, f.name_size), all.substr(f.name_at + f.name_size, f.value_size)};
    }

    std::string bytes_;
    std::vector<entry> fields_;
};

/// Durations from the start of the transfer (libcurl's CURLINFO_*_TIME_T),
/// each cumulative: connect includes DNS, tls includes connect, and so on.
struct timings {
    /// Name resolved (CURLINFO_NAMELOOKUP_TIME_T).
    std::chrono::microseconds name_lookup{0};
    /// TCP connection (or proxy connection) made (CURLINFO_CONNECT_TIME_T).
    std::chrono::microseconds connect{0};
    std::chrono::microseconds tls_handshake{0}; ///< zero on cleartext
    /// First byte of the response about to arrive (CURLINFO_STARTTRANSFER_TIME_T).
    std::chrono::microseconds first_byte{0};
    /// The whole transfer (CURLINFO_TOTAL_TIME_T).
    std::chrono::microseconds total{0};
    /// Spent on followed redirects before the final transfer (CURLINFO_REDIRECT_TIME_T).
    std::chrono::microseconds redirect{0};
};

/// How one attempt of a retried fetch ended (response::earlier_attempts).
struct attempt_outcome {
    /// How the attempt ended: an error_code, or none for a response.
    boost::system::error_code ec;
    /// 0 when no response was received.
    int status = 0;
    /// Member-wise.
    friend bool operator==(const attempt_outcome&, const attempt_outcome&) = default;
};

/// What one transfer produced: delivered with every completion, also a failed
/// one; then it holds whatever arrived before the failure (partial body,
/// headers) and libcurl's detailed error text.
///
/// @par Thread safety
/// A value type: as for std::string.
struct response {
    /// HTTP status of the last response from the server the URL names; 0 if
    /// none was received (a proxy's answer to CONNECT is never one).
    int status = 0;
    /// Reason phrase of the last status line, if any ("OK").
    std::string reason;
    /// Header fields of the last response (not of followed redirects, not of
    /// a proxy's answer to CONNECT). Content-Length says how libcurl framed
    /// the body: absent beside Transfer-Encoding (RFC 9112 6.3), one figure
    /// (libcurl's) in place of several; a CR or NUL inside a field is a space
    /// (RFC 9110 5.5). So a head copied onward never misframes the body.
    header_list headers;
    /// HTTP status of a proxy's answer to CONNECT when the transfer tunnelled
    /// through one (200: the tunnel opened); 0 otherwise.
    int connect_status = 0;
    /// The body as received (decoded when request_options::decompress), unless
    /// request::on_body took it or a download_stream reads it.
    std::string body;
    /// URL of the last request made (after redirects).
    std::string effective_url;
    /// The protocol version of the response, as Beast's message::version()
    /// counts it: 10 for HTTP/1.0, 11, 20, 30; 0 if unknown.
    unsigned version = 0;
    /// Redirects followed (request_options::redirects).
    long redirect_count = 0;
    /// IP address of the peer the last connection went to (CURLINFO_PRIMARY_IP).
    std::string remote_address;
    /// Port of that peer (CURLINFO_PRIMARY_PORT).
    unsigned short remote_port = 0;
    /// Where the time went.
    timings times;
    /// Body bytes received from the network before decoding.
    std::uint64_t bytes_received = 0;
    /// libcurl's detailed error text (CURLOPT_ERRORBUFFER) when the transfer
    /// failed, else empty. More specific than error_code::message().
    std::string error_message;
    /// With errc::callback_threw: what the callback threw (rethrow it with
    /// std::rethrow_exception to handle it as your own).
    std::exception_ptr callback_exception;
    /// Attempts made by a fetch with request_options::retry, this one
    /// included (1 without retries); the response is the last attempt's.
    unsigned attempts = 1;
    /// The attempts before this one, in order (empty without retries).
    std::vector<attempt_outcome> earlier_attempts;
};

} // namespace curlasio

#endif
