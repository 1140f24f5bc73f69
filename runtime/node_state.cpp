// SPDX-License-Identifier: Apache-2.0
// Encoding of a node's machine key and enrollment in its state_store. Plain
// functions; any thread. Wipes every buffer that held a private key, and
// writes nothing when a stored value cannot be parsed.
#include "runtime/node_state.hpp"

#include <nlohmann/json.hpp>

#include "runtime/counters.hpp"
#include "runtime/state_file.hpp"

namespace tf {

namespace {

using json = nlohmann::json;

failure corrupt(std::string_view key, std::string reason) {
  TF_COUNTER("node_state_corrupt").add();
  return make_error(errc::state_corrupt,
                    "state key " + std::string{key} + ": " + reason);
}

/// json_wiper wipes a parsed document whichever way a scope exits.
struct json_wiper {
  json& doc;
  ~json_wiper() { wipe_json(doc); }
};

/// get_string copies the optional string field `name` of `obj` into `out`.
result<void> get_string(const json& obj, const char* name, std::string& out) {
  auto i = obj.find(name);
  if (i == obj.end()) {
    return {};
  }
  if (!i->is_string()) {
    return corrupt(profile_state_key, std::string{name} + " is "
                                        + i->type_name() + ", want a string");
  }
  out = i->get<std::string>();
  return {};
}

/// get_id copies the unsigned integer field `name` of `obj` into `out`.
result<void> get_id(const json& obj, const char* name, uint64_t& out,
                    bool required) {
  auto i = obj.find(name);
  if (i == obj.end()) {
    if (required) {
      return corrupt(profile_state_key, std::string{name} + " is missing");
    }
    return {};
  }
  if (!i->is_number_unsigned()) {
    return corrupt(profile_state_key, std::string{name} + " is "
                                        + i->type_name()
                                        + ", want an unsigned integer");
  }
  out = i->get<uint64_t>();
  return {};
}

result<enrollment> parse_profile(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return corrupt(profile_state_key, e.what());
  }
  json_wiper wiper{doc};
  if (!doc.is_object()) {
    return corrupt(profile_state_key, std::string{"top level is "}
                                        + doc.type_name() + ", want an object");
  }
  auto key = doc.find("node_key");
  if (key == doc.end() || !key->is_string()) {
    return corrupt(profile_state_key, "node_key is missing or not a string");
  }
  auto node_key = node_private_key::parse(key->get_ref<const std::string&>());
  if (!node_key) {
    return corrupt(profile_state_key, "node_key: " + node_key.error().detail);
  }
  enrollment e;
  e.node_key = *node_key;
  result<void> steps[] = {
    get_id(doc, "node_id", e.node_id, true),
    get_string(doc, "stable_id", e.stable_id),
    get_string(doc, "control_url", e.control_url),
    get_string(doc, "name", e.name),
  };
  for (auto& step : steps) {
    if (!step) {
      return step.error();
    }
  }
  if (auto user = doc.find("user"); user != doc.end()) {
    if (!user->is_object()) {
      return corrupt(profile_state_key, "user is not an object");
    }
    result<void> user_steps[] = {
      get_id(*user, "id", e.user.id, false),
      get_string(*user, "login_name", e.user.login_name),
      get_string(*user, "display_name", e.user.display_name),
      get_string(*user, "profile_pic_url", e.user.profile_pic_url),
    };
    for (auto& step : user_steps) {
      if (!step) {
        return step.error();
      }
    }
  }
  return e;
}

/// profile_text renders `e` as JSON. The node key is spliced in by hand so
/// that it only ever lives in buffers we wipe.
result<std::string> profile_text(const enrollment& e) {
  json rest = {
    {"node_id", e.node_id},
    {"stable_id", e.stable_id},
    {"control_url", e.control_url},
    {"name", e.name},
    {"user",
     {{"id", e.user.id},
      {"login_name", e.user.login_name},
      {"display_name", e.user.display_name},
      {"profile_pic_url", e.user.profile_pic_url}}},
  };
  std::string rest_text;
  try {
    rest_text = rest.dump();
  } catch (const json::exception& ex) {
    TF_COUNTER("node_state_rejected_enrollment").add();
    return make_error(errc::invalid_argument,
                      std::string{"enrollment: "} + ex.what());
  }
  auto key = private_key_text(e.node_key.bytes());
  std::string out;
  out.reserve(rest_text.size() + key.size() + 16);
  out += "{\"node_key\":\"";
  out += key;
  out += "\",";
  out.append(rest_text, 1); // rest_text is "{...}" with at least one field
  wipe_string(key);
  return out;
}

} // namespace

result<node_state> load_node_state(state_store& store) {
  auto machine_text = store.read(machine_key_state_key);
  if (!machine_text) {
    return machine_text.error();
  }
  auto profile = store.read(profile_state_key);
  if (!profile) {
    if (*machine_text) {
      wipe_string(**machine_text);
    }
    return profile.error();
  }
  // Parse both before writing anything: a corrupt value means no writes.
  node_state out;
  bool generated = false;
  if (*machine_text) {
    auto parsed = machine_private_key::parse(**machine_text);
    wipe_string(**machine_text);
    if (!parsed) {
      if (*profile) {
        wipe_string(**profile);
      }
      return corrupt(machine_key_state_key, parsed.error().detail);
    }
    out.machine_key = *parsed;
  } else {
    out.machine_key = machine_private_key::generate();
    generated = true;
  }
  if (*profile) {
    auto parsed = parse_profile(**profile);
    wipe_string(**profile);
    if (!parsed) {
      return parsed.error();
    }
    out.enrolled = std::move(*parsed);
  }
  if (generated) {
    auto text = private_key_text(out.machine_key.bytes());
    auto written = store.write(machine_key_state_key, text);
    wipe_string(text);
    if (!written) {
      return written.error();
    }
  }
  return out;
}

result<void> save_enrollment(state_store& store, const enrollment& e) {
  if (e.node_key.is_zero()) {
    TF_COUNTER("node_state_rejected_enrollment").add();
    return make_error(errc::invalid_argument, "enrollment: node key is zero");
  }
  auto text = profile_text(e);
  if (!text) {
    return text.error();
  }
  auto written = store.write(profile_state_key, *text);
  wipe_string(*text);
  return written;
}

result<void> clear_enrollment(state_store& store) {
  return store.erase(profile_state_key);
}

} // namespace tf
