#ifndef CURLASIO_TEST_TOOLKIT_HELD_READ_HPP
#define CURLASIO_TEST_TOOLKIT_HELD_READ_HPP

// An upload source whose reads never complete on their own, as a producer
// that has nothing yet: the read is held until the transfer ends and emits
// its cancellation slot, which completes it with operation_aborted.

#include <curlasio/curlasio.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace curlasio::test {

struct held_read {
    using read_done = boost::asio::any_completion_handler<void(error_code, std::size_t)>;

    std::optional<read_done> held; // the read in progress, if any
    bool cancelled = false;        // the transfer emitted the read's slot

    // *this must outlive the fetch.
    upload_source source(boost::asio::io_context& io, std::optional<std::uint64_t> size = std::nullopt) {
        return upload_source::from_function(
            io.get_executor(),
            [this](boost::asio::mutable_buffer, read_done done) {
                auto slot = boost::asio::get_associated_cancellation_slot(done);
                if (slot.is_connected())
                    slot.assign([this](boost::asio::cancellation_type) {
                        cancelled = true;
                        if (held)
                            std::move (*std::exchange(held, std::nullopt))(
                                boost::asio::error::operation_aborted, 0);
                    });
                held.emplace(std::move(done));
            },
            size);
    }
};

} // namespace curlasio::test

#endif
