// SPDX-License-Identifier: Apache-2.0
// Transport data seal/open (whitepaper 5.4.6) over the Noise cipher_state,
// i.e. ChaCha20-Poly1305 with nonce 0^32 || LE64(counter). Confined to the
// keypair's session.
#include "runtime/wg/transport.hpp"

#include <cstring>

#include "runtime/counters.hpp"

namespace tf::wg {

result<std::vector<uint8_t>> seal_transport(keypair& kp, std::span<const uint8_t> packet) {
  if (packet.size() > max_packet_len) {
    TF_COUNTER("wg_rejected_oversize_packet").add();
    return make_error(errc::invalid_argument, "WireGuard transport: packet too large");
  }
  if (kp.send_counter >= reject_after_messages) {
    return make_error(errc::nonce_exhausted, "WireGuard transport: keypair used up");
  }
  auto plain_len = padded_len(packet.size());
  std::vector<uint8_t> out(transport_header_len + plain_len + noise::tag_len, 0);
  write_transport_header(std::span<uint8_t, transport_header_len>{out.data(), transport_header_len},
                         kp.remote_index, kp.send_counter);
  auto body = std::span<uint8_t>{out}.subspan(transport_header_len);
  if (!packet.empty()) {
    std::memcpy(body.data(), packet.data(), packet.size());
  }
  kp.send.set_nonce(kp.send_counter);
  if (auto r = kp.send.encrypt_with_ad({}, body.first(plain_len), body); !r) {
    return r.error();
  }
  ++kp.send_counter;
  return out;
}

result<std::vector<uint8_t>> open_transport(keypair& kp, const transport_view& msg) {
  if (!kp.replay.would_accept(msg.counter)) {
    TF_COUNTER("wg_rejected_replay").add();
    return make_error(errc::decrypt_failed, "WireGuard transport: replayed or too old counter");
  }
  std::vector<uint8_t> plain;
  kp.receive.set_nonce(msg.counter);
  if (auto r = kp.receive.decrypt_with_ad({}, msg.ciphertext, plain); !r) {
    TF_COUNTER("wg_rejected_decrypt").add();
    return make_error(errc::decrypt_failed, "WireGuard transport: packet failed authentication");
  }
  if (!kp.replay.accept(msg.counter)) {
    TF_COUNTER("wg_rejected_replay").add();
    return make_error(errc::decrypt_failed, "WireGuard transport: replayed counter");
  }
  return plain;
}

std::optional<size_t> inner_packet_len(std::span<const uint8_t> p) noexcept {
  if (p.empty()) {
    return std::nullopt;
  }
  size_t len = 0;
  switch (p[0] >> 4) {
    case 4:
      if (p.size() < 20) {
        return std::nullopt;
      }
      len = size_t{p[2]} << 8 | p[3];
      if (len < 20) {
        return std::nullopt;
      }
      break;
    case 6:
      if (p.size() < 40) {
        return std::nullopt;
      }
      len = (size_t{p[4]} << 8 | p[5]) + 40;
      break;
    default:
      return std::nullopt;
  }
  if (len > p.size()) {
    return std::nullopt;
  }
  return len;
}

} // namespace tf::wg
