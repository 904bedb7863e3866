#include "data/fetch.h"

#include <stdlib.h>

#include <filesystem>
#include <map>

#include "base/errors.h"
#include "base/sha256.h"
#include "data/run_program.h"

namespace merino {
namespace {

namespace fs = std::filesystem;

// A directory removed with everything in it when the object goes, whatever happened.
class StagingDir {
 public:
  explicit StagingDir(const std::string& parent) {
    std::string tmpl = (fs::path(parent) / ".fetch-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw FetchError(parent + ": cannot create a staging directory there");
    path_ = tmpl;
  }
  ~StagingDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  std::string file(size_t i) const { return (fs::path(path_) / std::to_string(i)).string(); }

 private:
  std::string path_;
};

const char* const kWhatToDo = "check the connection, or pass --mirror URL_PREFIX (a copy of the files at their "
                              "data-root paths; docs/DATA.md)";

void download(const std::string& what, const std::string& url, const std::string& to) {
  const ProgramResult r = run_program({"curl", "--fail", "--silent", "--show-error", "--location", "--retry", "2",
                                       "--connect-timeout", "30", "--output", to, url},
                                      "/dev/null", "curl");
  if (r.exit_code != 0)
    throw FetchError(what + ": cannot download " + url + " (" + last_line(r.stderr_text) + "); " + kWhatToDo);
}

void check_sha256(const std::string& what, const std::string& file, const std::string& url, const std::string& expected) {
  const std::string got = sha256_file(file);
  if (got != expected)
    throw DataError(what + ": " + url + " has sha256 " + got + ", not the " + expected +
                    " that datasets/fetch.json expects; nothing was kept: check or replace that copy (a mirror's, "
                    "or try the release URL without --mirror)");
}

bool present(const fs::path& file, const std::string& sha256) {
  std::error_code ec;
  return fs::is_regular_file(file, ec) && sha256_file(file.string()) == sha256;
}

std::string join_url(std::string prefix, const std::string& path) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix + "/" + path;
}

// Stages the dataset's missing files, verified, and renames them into place.
void fetch_one(const FetchDataset& set, const FetchOptions& o, const std::function<void(const std::string&)>& log) {
  std::vector<const FetchFile*> missing;
  for (const FetchFile& f : set.files) {
    if (present(fs::path(o.dest) / f.path, f.sha256))
      log(f.path + ": present, sha256 ok");
    else
      missing.push_back(&f);
  }
  if (missing.empty()) return;
  StagingDir staging(o.dest);
  std::map<std::string, std::string> zips;  // url -> staged and verified archive
  std::vector<std::string> staged, sources;
  size_t next = 0;
  for (const FetchFile* f : missing) {
    const std::string file = staging.file(next++);
    if (!o.mirror.empty() || f->zip_member.empty()) {
      const std::string url = o.mirror.empty() ? f->url : join_url(o.mirror, f->path);
      download(f->path, url, file);
      check_sha256(f->path, file, url, f->sha256);
      sources.push_back(url);
    } else {
      if (!zips.count(f->url)) {
        const std::string zip = staging.file(next++);
        download(f->path, f->url, zip);
        check_sha256(f->path, zip, f->url, f->zip_sha256);
        zips[f->url] = zip;
      }
      const std::string where = f->url + " member " + f->zip_member;
      const ProgramResult r = run_program({"unzip", "-p", zips[f->url], f->zip_member}, file, "unzip");
      if (r.exit_code != 0)
        throw FetchError(f->path + ": cannot extract " + where + " (" + last_line(r.stderr_text) + "); " + kWhatToDo);
      check_sha256(f->path, file, where, f->sha256);
      sources.push_back(where);
    }
    staged.push_back(file);
  }
  for (size_t i = 0; i < missing.size(); ++i) {
    const fs::path target = fs::path(o.dest) / missing[i]->path;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    fs::rename(staged[i], target, ec);
    if (ec) throw FetchError(target.string() + ": cannot move the verified download into place: " + ec.message());
    log(missing[i]->path + ": fetched from " + sources[i] + ", sha256 ok");
  }
}

}  // namespace

void fetch_datasets(const std::vector<FetchDataset>& sets, const FetchOptions& o,
                    const std::function<void(const std::string&)>& log) {
  if (o.dest.empty()) throw DataError("merino fetch: no destination: set $MERINO_DATA or HOME, or pass --data-dir");
  std::error_code ec;
  fs::create_directories(o.dest, ec);
  if (ec || !fs::is_directory(o.dest)) throw DataError(o.dest + ": cannot create the data directory");
  for (const FetchDataset& set : sets) fetch_one(set, o, log);
}

}  // namespace merino
