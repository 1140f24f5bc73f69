// SPDX-License-Identifier: Apache-2.0
// The control channel's handshake and record layer. Confined to the actor
// that owns the connection; keys are wiped as soon as they are not needed.
// Never does I/O; every rejected input is counted.
#include "runtime/control_channel.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "runtime/counters.hpp"

namespace tf {

namespace {

constexpr size_t header_len = control_record_header_len;

/// record_len reads a record's length from its header (big-endian 16 bits).
size_t record_len(const uint8_t* header) noexcept {
  return size_t{header[0]} << 8 | header[1];
}

/// max_pending_before_accept bounds what a server buffers while its owner
/// decides on record 1. A correct client sends nothing in that time (it
/// cannot encrypt before record 2), so one record's worth is plenty.
constexpr size_t max_pending_before_accept = header_len + control_max_record_len;

std::span<const uint8_t> prologue_bytes() {
  return {reinterpret_cast<const uint8_t*>(control_prologue.data()),
          control_prologue.size()};
}

void put_header(uint8_t* out, size_t len) {
  out[0] = static_cast<uint8_t>(len >> 8);
  out[1] = static_cast<uint8_t>(len);
}

std::vector<uint8_t> framed(std::span<const uint8_t> prefix,
                            std::span<const uint8_t> message) {
  std::vector<uint8_t> out(prefix.size() + header_len + message.size());
  std::copy(prefix.begin(), prefix.end(), out.begin());
  put_header(out.data() + prefix.size(), message.size());
  std::copy(message.begin(), message.end(), out.begin() + prefix.size() + header_len);
  return out;
}

failure wrong_phase(const char* what) {
  return make_error(errc::invalid_argument, what);
}

} // namespace

// -- construction ------------------------------------------------------------

control_channel::control_channel(bool is_client, const machine_private_key& self)
  : is_client_(is_client),
    phase_(is_client ? phase::awaiting_initiation : phase::awaiting_preamble),
    self_(self) {
}

control_channel control_channel::client(const machine_private_key& self,
                                        const machine_public_key& server) {
  control_channel ch{true, self};
  ch.peer_static_ = server;
  return ch;
}

control_channel control_channel::server(const machine_private_key& self) {
  return control_channel{false, self};
}

control_channel::control_channel(control_channel&& other) noexcept
  : is_client_(other.is_client_),
    phase_(other.phase_),
    err_(std::move(other.err_)),
    self_(other.self_),
    ephemeral_(other.ephemeral_),
    handshake_(std::move(other.handshake_)),
    send_(other.send_),
    receive_(other.receive_),
    peer_static_(other.peer_static_),
    peer_hello_(std::move(other.peer_hello_)),
    handshake_hash_(other.handshake_hash_),
    preamble_seen_(other.preamble_seen_),
    pending_(std::move(other.pending_)) {
  other.fail(make_error(errc::closed, "control channel was moved from"));
}

control_channel& control_channel::operator=(control_channel&& other) noexcept {
  if (this != &other) {
    this->~control_channel();
    new (this) control_channel(std::move(other));
  }
  return *this;
}

control_channel::~control_channel() {
  if (ephemeral_) {
    wipe(ephemeral_->data(), ephemeral_->size());
  }
}

void control_channel::set_ephemeral_for_test(const key_bytes& ephemeral) {
  ephemeral_ = ephemeral;
}

failure control_channel::fail(failure err) {
  phase_ = phase::failed;
  err_ = err;
  handshake_.reset();
  send_ = noise::cipher_state{};
  receive_ = noise::cipher_state{};
  self_ = machine_private_key{};
  if (ephemeral_) {
    wipe(ephemeral_->data(), ephemeral_->size());
    ephemeral_.reset();
  }
  pending_.clear();
  return err;
}

result<void> control_channel::start_handshake() {
  noise::handshake_options opts;
  opts.pattern = noise::handshake_pattern::ik;
  opts.role = is_client_ ? noise::handshake_role::initiator
                         : noise::handshake_role::responder;
  opts.prologue = prologue_bytes();
  opts.local_static = self_.bytes();
  if (is_client_) {
    opts.remote_static = peer_static_.bytes();
  }
  if (ephemeral_) {
    opts.ephemeral_for_test = *ephemeral_;
  }
  auto hs = noise::handshake_state::make(opts);
  self_ = machine_private_key{};
  if (ephemeral_) {
    wipe(ephemeral_->data(), ephemeral_->size());
    ephemeral_.reset();
  }
  if (!hs) {
    return hs.error();
  }
  handshake_.emplace(std::move(*hs));
  return {};
}

result<void> control_channel::finish_handshake() {
  auto keys = handshake_->split();
  if (!keys) {
    return keys.error();
  }
  send_ = keys->send;
  receive_ = keys->receive;
  handshake_hash_ = handshake_->handshake_hash();
  handshake_.reset();
  phase_ = phase::established;
  return {};
}

// -- client and server steps -------------------------------------------------

result<std::vector<uint8_t>> control_channel::initiate(std::span<const uint8_t> hello) {
  if (phase_ == phase::failed) {
    return err_;
  }
  if (!is_client_ || phase_ != phase::awaiting_initiation) {
    return fail(wrong_phase("control channel: initiate() is for a new client"));
  }
  if (auto r = start_handshake(); !r) {
    return fail(r.error());
  }
  auto msg = handshake_->write_message(hello);
  if (!msg) {
    return fail(msg.error());
  }
  phase_ = phase::awaiting_response;
  return framed(control_preamble, *msg);
}

result<std::vector<uint8_t>> control_channel::accept(std::span<const uint8_t> hello) {
  if (phase_ == phase::failed) {
    return err_;
  }
  if (is_client_ || phase_ != phase::awaiting_accept) {
    return fail(wrong_phase("control channel: accept() needs a server that read record 1"));
  }
  auto msg = handshake_->write_message(hello);
  if (!msg) {
    return fail(msg.error());
  }
  if (auto r = finish_handshake(); !r) {
    return fail(r.error());
  }
  return framed({}, *msg);
}

// -- records -----------------------------------------------------------------

result<void> control_channel::receive(std::span<const uint8_t> bytes,
                                      std::vector<uint8_t>& app_out) {
  if (phase_ == phase::failed) {
    return err_;
  }
  if (phase_ == phase::awaiting_initiation && is_client_) {
    if (bytes.empty()) {
      return {};
    }
    TF_COUNTER("control_channel_bad_record").add();
    return fail(make_error(errc::protocol_violation,
                           "control channel: server sent bytes before the client hello"));
  }
  if (!pending_.empty() && phase_ == phase::established) {
    if (auto r = complete_pending(bytes, app_out); !r) {
      return r.error();
    }
  }
  if (pending_.empty()) {
    auto used = process(bytes, app_out);
    if (!used) {
      return used.error();
    }
    pending_.assign(bytes.begin() + *used, bytes.end());
  } else {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    auto used = process(pending_, app_out);
    if (!used) {
      return used.error();
    }
    pending_.erase(pending_.begin(), pending_.begin() + *used);
  }
  if (phase_ == phase::awaiting_accept && pending_.size() > max_pending_before_accept) {
    TF_COUNTER("control_channel_bad_record").add();
    return fail(make_error(errc::protocol_violation,
                           "control channel: client sent records before record 2"));
  }
  return {};
}

result<void> control_channel::complete_pending(std::span<const uint8_t>& bytes,
                                               std::vector<uint8_t>& app_out) {
  // Established, pending_ is one partial record: append to it only what it
  // lacks, then open it. Appending each whole read behind it copied a
  // 45 MB map once more (bench/full_map_path: open + unframe).
  for (;;) {
    size_t want = header_len;
    if (pending_.size() >= header_len) {
      want += record_len(pending_.data());
    }
    if (pending_.size() >= want) {
      break; // whole (an empty record too: process() refuses it)
    }
    size_t take = std::min(want - pending_.size(), bytes.size());
    if (take == 0) {
      return {}; // still partial
    }
    pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + take);
    bytes = bytes.subspan(take);
  }
  auto used = process(pending_, app_out);
  if (!used) {
    return used.error();
  }
  pending_.erase(pending_.begin(), pending_.begin() + *used);
  return {};
}

result<size_t> control_channel::process(std::span<const uint8_t> in,
                                        std::vector<uint8_t>& app_out) {
  size_t pos = 0;
  while (pos < in.size()) {
    if (phase_ == phase::awaiting_accept) {
      break; // the owner decides on record 1 first
    }
    if (phase_ == phase::awaiting_preamble) {
      auto n = std::min(in.size() - pos, control_preamble.size() - preamble_seen_);
      if (std::memcmp(in.data() + pos, control_preamble.data() + preamble_seen_, n) != 0) {
        TF_COUNTER("control_channel_bad_preamble").add();
        bool same_magic = preamble_seen_ + n == control_preamble.size()
                          && std::memcmp(in.data() + pos, control_preamble.data() + preamble_seen_,
                                         n - 1) == 0;
        return fail(same_magic
                      ? make_error(errc::unsupported_version,
                                   "control channel: unsupported protocol version")
                      : make_error(errc::protocol_violation,
                                   "control channel: bad preamble"));
      }
      preamble_seen_ += n;
      pos += n;
      if (preamble_seen_ == control_preamble.size()) {
        phase_ = phase::awaiting_initiation;
      }
      continue;
    }
    if (in.size() - pos < header_len) {
      break;
    }
    size_t len = record_len(in.data() + pos);
    if (len == 0) {
      TF_COUNTER("control_channel_bad_record").add();
      return fail(make_error(errc::malformed_frame, "control channel: empty record"));
    }
    if (in.size() - pos - header_len < len) {
      break;
    }
    if (auto r = on_record(in.subspan(pos + header_len, len), app_out); !r) {
      return r.error();
    }
    pos += header_len + len;
  }
  return pos;
}

result<void> control_channel::on_record(std::span<const uint8_t> record,
                                        std::vector<uint8_t>& app_out) {
  switch (phase_) {
    case phase::awaiting_initiation: { // server: record 1
      if (auto r = start_handshake(); !r) {
        return fail(r.error());
      }
      auto hello = handshake_->read_message(record);
      if (!hello) {
        TF_COUNTER("control_channel_handshake_failed").add();
        return fail(hello.error());
      }
      peer_hello_ = std::move(*hello);
      peer_static_ = machine_public_key{handshake_->remote_static()};
      phase_ = phase::awaiting_accept;
      return {};
    }
    case phase::awaiting_response: { // client: record 2
      auto hello = handshake_->read_message(record);
      if (!hello) {
        TF_COUNTER("control_channel_handshake_failed").add();
        return fail(hello.error());
      }
      peer_hello_ = std::move(*hello);
      if (auto r = finish_handshake(); !r) {
        return fail(r.error());
      }
      return {};
    }
    case phase::established: {
      if (record.size() < noise::tag_len + 1) {
        TF_COUNTER("control_channel_bad_record").add();
        return fail(make_error(errc::malformed_frame,
                               "control channel: record shorter than its tag and padding length"));
      }
      size_t old_len = app_out.size();
      if (auto r = receive_.decrypt_with_ad({}, record, app_out); !r) {
        TF_COUNTER("control_channel_decrypt_failed").add();
        return fail(r.error());
      }
      return strip_padding(app_out, old_len);
    }
    default:
      return fail(make_error(errc::internal, "control channel: record in wrong phase"));
  }
}

result<void> control_channel::strip_padding(std::vector<uint8_t>& app_out, size_t old_len) {
  // The plaintext is app_out[old_len..]: chunk, zeros, their count.
  size_t plaintext_len = app_out.size() - old_len;
  size_t padding = app_out.back();
  if (padding + 1 > plaintext_len) {
    app_out.resize(old_len);
    TF_COUNTER("control_channel_bad_record").add();
    return fail(make_error(errc::malformed_frame,
                           "control channel: record padding longer than the record"));
  }
  size_t chunk_end = app_out.size() - 1 - padding;
  if (std::any_of(app_out.begin() + chunk_end, app_out.end() - 1,
                  [](uint8_t b) { return b != 0; })) {
    app_out.resize(old_len);
    TF_COUNTER("control_channel_bad_record").add();
    return fail(make_error(errc::malformed_frame, "control channel: nonzero record padding"));
  }
  app_out.resize(chunk_end);
  return {};
}

result<void> control_channel::seal(std::span<const uint8_t> app_bytes,
                                   std::vector<uint8_t>& out) {
  if (phase_ == phase::failed) {
    return err_;
  }
  if (phase_ != phase::established) {
    return fail(wrong_phase("control channel: seal() before the handshake finished"));
  }
  size_t sealed_len = 0;
  for (size_t left = app_bytes.size(); left > 0;) {
    size_t n = std::min(left, control_max_chunk_len);
    sealed_len += control_record_len(n);
    left -= n;
  }
  size_t old_len = out.size();
  out.resize(old_len + sealed_len);
  uint8_t* dst = out.data() + old_len;
  while (!app_bytes.empty()) {
    // The plaintext is assembled in place and encrypted over itself.
    size_t n = std::min(app_bytes.size(), control_max_chunk_len);
    size_t padding = control_record_padding(n);
    size_t plaintext_len = n + padding + 1;
    uint8_t* plaintext = dst + header_len;
    put_header(dst, plaintext_len + noise::tag_len);
    std::memcpy(plaintext, app_bytes.data(), n);
    std::memset(plaintext + n, 0, padding);
    plaintext[n + padding] = static_cast<uint8_t>(padding);
    auto r = send_.encrypt_with_ad({}, std::span<const uint8_t>{plaintext, plaintext_len},
                                   std::span<uint8_t>{plaintext, plaintext_len + noise::tag_len});
    if (!r) {
      out.resize(old_len);
      return fail(r.error());
    }
    dst += control_record_len(n);
    app_bytes = app_bytes.subspan(n);
  }
  return {};
}

result<void> control_channel::seal_plaintext_for_test(std::span<const uint8_t> plaintext,
                                                      std::vector<uint8_t>& out) {
  if (phase_ != phase::established || plaintext.size() > control_max_plaintext_len) {
    return make_error(errc::invalid_argument, "control channel: seal_plaintext_for_test");
  }
  size_t old_len = out.size();
  out.resize(old_len + header_len);
  put_header(out.data() + old_len, plaintext.size() + noise::tag_len);
  if (auto r = send_.encrypt_with_ad({}, plaintext, out); !r) {
    out.resize(old_len);
    return r;
  }
  return {};
}

} // namespace tf
