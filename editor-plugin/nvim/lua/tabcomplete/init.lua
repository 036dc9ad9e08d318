-- tabcomplete for Neovim 0.7+: Tab after code in insert mode asks the tabcomplete server and inserts
-- its answer at the cursor as one undo step, or, when the model is not sure, shows its ranked choices
-- in the popup menu; with nothing to offer the text is left as it was. The request runs in a curl job,
-- so the editor never waits.
--
-- The Tab decision is pure functions (decide_tab, decide_answer, status_text, build_body, select_files, menu_items),
-- the Lua twins of the JavaScript client's; editor-plugin/shared/tab-cases.json holds both to the same cases.
local M = {}

-- The request caps live once, in editor-plugin/shared/limits.json, next to this plug-in's nvim/ directory.
local function read_limits()
  local here = debug.getinfo(1, 'S').source:sub(2) -- .../editor-plugin/nvim/lua/tabcomplete/init.lua
  local path = vim.fn.fnamemodify(here, ':p:h:h:h:h') .. '/shared/limits.json'
  local ok, limits = pcall(function() return vim.fn.json_decode(table.concat(vim.fn.readfile(path), '\n')) end)
  if not ok or type(limits) ~= 'table' or type(limits.text_chars) ~= 'number' then
    error('tabcomplete: cannot read ' .. path .. ' (the plug-in needs editor-plugin/shared/ beside editor-plugin/nvim/)')
  end
  return limits
end

local LIMITS = read_limits()
M.limits = LIMITS

local STOP_MODES = { line = true, block = true, none = true }
local TAB = vim.api.nvim_replace_termcodes('<Tab>', true, false, true)
local UNDO_BREAK = vim.api.nvim_replace_termcodes('<C-g>u', true, false, true)
local ACCEPT = vim.api.nvim_replace_termcodes('<C-y>', true, false, true)
local DISMISS = vim.api.nvim_replace_termcodes('<C-e>', true, false, true)
local MENU_TAG = 'tabcomplete' -- user_data of the popup menu items this plug-in shows
local MAX_CHOICES = 10
local hrtime = (vim.uv or vim.loop).hrtime

local defaults = {
  enabled = true,
  server_url = 'http://127.0.0.1:8000',
  timeout_ms = 3000,
  max_chars = 80,
  stop = 'line',
  token = '',
  -- the server's language names (server_language maps filetypes to them); '*' enables every filetype
  languages = { 'python', 'c', 'javascript', 'typescript', 'lua' },
  keymap = true, -- map <Tab> in insert mode
  request_options = {}, -- extra POST /complete fields: temperature, min_prob, seed
  files_budget = LIMITS.files_budget_default, -- characters of other open buffers sent as hints; 0: none
  choices = 3, -- ranked choices to ask for, shown in the popup menu when the completion is empty; 0: none
  fallback_tab = false, -- nothing to offer after code: true types the normal Tab (the old behaviour)
}
local REQUEST_OPTIONS = { temperature = true, min_prob = true, seed = true }
local OUTCOMES = { insert = 'inserted', menu = 'menu', drop = 'dropped', tab = 'tab', none = 'none' }

M.config = vim.deepcopy(defaults)
M.state = 'idle' -- idle | waiting | ok | choices | empty | dropped | error | off
-- What the last Tab did: {request = table, answer = table|nil, outcome = string, reason = string,
-- menu = {items, picked = text|nil, done = bool} when it showed the choices}
M.last = nil
local pending = nil -- {job = id, before = snapshot, request = body, force = bool, started = hrtime}
local menu = nil -- the popup menu of choices while it shows: {completeopt = saved, typed = bool, last = M.last}
local recent = {} -- buffer number -> tick of its last BufEnter: the order of `files`
local tick = 0

------------------------------------------------------------------------------------------------------
-- The pure part: no editor state in, no editor state out.

-- Characters are Unicode code points, as the server counts them: a UTF-8 sequence is one character.
local function is_char_start(byte)
  return byte < 0x80 or byte >= 0xC0
end

local function last_chars(s, n)
  if #s <= n then return s end
  local count = 0
  for i = #s, 1, -1 do
    if is_char_start(s:byte(i)) then
      count = count + 1
      if count == n then return s:sub(i) end
    end
  end
  return s
end

local function first_chars(s, n)
  if #s <= n then return s end
  local count = 0
  for i = 1, #s do
    if is_char_start(s:byte(i)) then
      count = count + 1
      if count > n then return s:sub(1, i - 1) end
    end
  end
  return s
end

local function char_count(s)
  return select(2, s:gsub('[^\128-\191]', ''))
end

-- A filetype -> the name the server's models go by, where the two differ (the JavaScript client's
-- serverLanguage and LANGUAGE_ALIASES, editor-plugin/shared/client.js): javascriptreact (.jsx) is JavaScript,
-- and a .h file, which Neovim calls cpp, is C. Other filetypes are the server's names already.
M.language_aliases = {
  javascriptreact = 'javascript', js = 'javascript', ts = 'typescript', py = 'python', shell = 'shellscript', ['c++'] = 'cpp',
}

function M.server_language(filetype, path)
  local language = M.language_aliases[filetype] or filetype or ''
  if language == 'cpp' and (path or ''):match('%.h$') then return 'c' end
  return language
end

local function language_enabled(languages, language)
  for _, lang in ipairs(languages) do
    if lang == '*' or lang == language then return true end
  end
  return false
end

-- Tab pressed: {action = 'indent' | 'tab' (the editor's own Tab) | 'request' | 'none', reason}.
function M.decide_tab(t)
  if t.force then
    if t.simple then return { action = 'request', reason = 'forced' } end
    return { action = 'none', reason = 'selection' }
  end
  if not t.enabled then return { action = 'tab', reason = 'disabled' } end
  if not t.simple then return { action = 'tab', reason = 'selection' } end
  if t.line_prefix:match('^[ \t]*$') then return { action = 'indent', reason = 'indent' } end
  if not language_enabled(t.languages, t.language) then return { action = 'tab', reason = 'language' } end
  return { action = 'request', reason = 'code' }
end

-- Why a request failed, in the words every editor shows.
function M.failure_message(f)
  if f.kind == 'timeout' then return 'timeout after ' .. tostring(f.timeout_ms) .. ' ms' end
  if f.kind == 'unreachable' then return 'server not running at ' .. f.url end
  if f.kind == 'network' then return 'cannot reach ' .. f.url .. ': ' .. f.detail end
  if f.kind == 'http' then return 'server error ' .. tostring(f.status) .. ': ' .. f.message end
  if f.kind == 'not-json' then return 'server answered ' .. tostring(f.status) .. ' with a body that is not JSON' end
  if f.kind == 'bad-answer' then return 'bad answer from server: ' .. f.why end
  return 'request failed: ' .. tostring(f.kind)
end

-- The request ended. result: {completion, choices, ms} | {failure} | {cancelled = true}; unchanged: the
-- buffer and cursor are as they were at Tab; fallback_tab: the user wants the old normal Tab when there
-- is nothing to offer. -> {action = 'insert' | 'menu' | 'drop' | 'tab' | 'none', reason, status}.
-- Nothing to offer (no completion and no choices, an error, a timeout) leaves the text exactly as it was.
function M.decide_answer(t)
  local result = t.result
  if result.cancelled then
    return { action = 'drop', reason = 'aborted', status = { state = 'dropped', message = 'cancelled (text changed)' } }
  end
  local nothing = 'drop' -- the text changed: leave it alone
  if t.unchanged then nothing = (t.fallback_tab and not t.force) and 'tab' or 'none' end
  if result.failure then
    return { action = nothing, reason = result.failure.kind, status = { state = 'error', message = M.failure_message(result.failure) } }
  end
  local choices = result.choices or {}
  if result.completion == '' and #choices == 0 then
    return { action = nothing, reason = 'empty', status = { state = 'empty', ms = result.ms } }
  end
  if not t.unchanged then
    return { action = 'drop', reason = 'changed', status = { state = 'dropped', message = 'answer dropped (text changed)' } }
  end
  if result.completion == '' then
    return { action = 'menu', reason = 'choices', status = { state = 'choices', count = #choices, ms = result.ms } }
  end
  return { action = 'insert', reason = 'completed', status = { state = 'ok', ms = result.ms } }
end

-- A probability as the menus show it: whole percent, '<1%' below half a percent.
function M.percent(probability)
  local whole = math.floor(probability * 100 + 0.5)
  if whole < 1 then return '<1%' end
  return string.format('%d%%', whole)
end

-- The menu for the answer's choices, in the server's order: text (what picking inserts), label (the
-- text on one line: a line break shows as ⏎) and detail (the probability).
function M.menu_items(choices)
  local items = {}
  for _, c in ipairs(choices) do
    table.insert(items, { text = c.text, label = (c.text:gsub('\r?\n', '⏎')), detail = M.percent(c.probability) })
  end
  return items
end

local function whole_ms(ms)
  return string.format('%d', math.floor(ms + 0.5))
end

-- The status text every editor shows; ms is the round trip the user waited.
function M.status_text(s)
  if s.state == 'off' then return 'tabcomplete off' end
  if s.state == 'waiting' then return 'tabcomplete …' end
  if s.state == 'ok' then return 'tabcomplete ' .. whole_ms(s.ms) .. ' ms' end
  if s.state == 'empty' then return 'tabcomplete: no completion (' .. whole_ms(s.ms) .. ' ms)' end
  if s.state == 'choices' then
    return 'tabcomplete: ' .. s.count .. ' choice' .. (s.count == 1 and '' or 's') .. ' (' .. whole_ms(s.ms) .. ' ms)'
  end
  if s.state == 'dropped' or s.state == 'error' then return 'tabcomplete: ' .. s.message end
  return 'tabcomplete'
end

-- Other open buffers to send as `files`: same filetype, not the current one, not unnamed or binary,
-- most recently used first, whole files while the budget (characters) lasts, files_max at most.
-- candidates: {{path, language, text, used (larger: more recent), untitled?, binary?}}
function M.select_files(current, candidates, budget)
  local usable = {}
  for i, c in ipairs(candidates) do
    if c.path ~= '' and not c.untitled and not c.binary and c.text ~= '' and not c.text:find('\0', 1, true)
        and c.language == current.language and c.path ~= current.path then
      table.insert(usable, { c = c, i = i })
    end
  end
  table.sort(usable, function(a, b) -- equally recent files keep the editor's order
    if a.c.used ~= b.c.used then return a.c.used > b.c.used end
    return a.i < b.i
  end)
  local chosen, seen, left = {}, {}, budget
  for _, u in ipairs(usable) do
    if #chosen >= LIMITS.files_max then break end
    local c = u.c
    if not seen[c.path] then
      seen[c.path] = true
      local size = char_count(c.text)
      if size <= left then
        left = left - size
        table.insert(chosen, { path = c.path, text = c.text })
      end
    end
  end
  return chosen
end

-- The POST /complete body. input: {text (before the cursor), suffix, language, path, files};
-- options: {max_chars, stop, request_options, choices}. Empty language, path and files, and choices 0, are left out.
function M.build_body(input, options)
  local body = vim.tbl_extend('force', options.request_options or {}, {
    text = last_chars(input.text, LIMITS.text_chars),
    suffix = first_chars(input.suffix or '', LIMITS.suffix_chars),
    max_chars = options.max_chars,
    stop = options.stop,
  })
  if input.language and input.language ~= '' then body.language = input.language end
  if input.path and input.path ~= '' then body.path = input.path end
  if input.files and #input.files > 0 then body.files = input.files end
  if options.choices and options.choices > 0 then body.choices = options.choices end
  return body
end

-- The 200 answer per docs/design.md; returns the answer or nil and the reason.
function M.validate_answer(answer)
  if type(answer) ~= 'table' then return nil, 'not a JSON object' end
  if type(answer.completion) ~= 'string' then return nil, '"completion" is not a string' end
  if type(answer.alternatives) ~= 'table' then return nil, '"alternatives" is not a list' end
  for _, alt in ipairs(answer.alternatives) do
    if type(alt) ~= 'string' then return nil, '"alternatives" is not a list of strings' end
  end
  if type(answer.model) ~= 'string' then return nil, '"model" is not a string' end
  if type(answer.elapsed_ms) ~= 'number' then return nil, '"elapsed_ms" is not a number' end
  if answer.choices == nil or answer.choices == vim.NIL then answer.choices = {} end
  if type(answer.choices) ~= 'table' then return nil, '"choices" is not a list of {text, probability}' end
  for _, c in ipairs(answer.choices) do
    if type(c) ~= 'table' or type(c.text) ~= 'string' or c.text == '' or type(c.probability) ~= 'number'
        or c.probability <= 0 or c.probability > 1 then
      return nil, '"choices" is not a list of {text, probability}'
    end
  end
  return answer
end

------------------------------------------------------------------------------------------------------
-- The editor: reading buffers, curl, inserting.

local function set_status(status)
  M.state = status.state
  local text = M.status_text(status)
  vim.g.tabcomplete_status = text
  vim.cmd('redrawstatus')
  if status.state == 'error' or status.state == 'empty' then
    -- Neovim has no shared status bar; the message line is the closest, and stays out of :messages.
    vim.api.nvim_echo({ { text, status.state == 'error' and 'WarningMsg' or 'None' } }, false, {})
  end
end

local function validate(config)
  local function int(v, lo, hi)
    return type(v) == 'number' and v == math.floor(v) and v >= lo and v <= hi
  end
  if type(config.enabled) ~= 'boolean' then return 'enabled must be true or false' end
  if type(config.server_url) ~= 'string' or not config.server_url:match('^https?://[^/]') then
    return 'server_url must start with http:// or https://'
  end
  if not int(config.timeout_ms, 1, 600000) then return 'timeout_ms must be an integer 1..600000' end
  if not int(config.max_chars, 1, 1000) then return 'max_chars must be an integer 1..1000' end
  if not STOP_MODES[config.stop] then return 'stop must be line, block or none' end
  if type(config.token) ~= 'string' then return 'token must be a string' end
  if type(config.languages) ~= 'table' then return 'languages must be a list of filetypes' end
  if type(config.request_options) ~= 'table' then return 'request_options must be a table' end
  for key, value in pairs(config.request_options) do
    if not REQUEST_OPTIONS[key] then return 'request_options may only hold temperature, min_prob, seed, not ' .. tostring(key) end
    if type(value) ~= 'number' then return 'request_options.' .. key .. ' must be a number' end
  end
  if not int(config.files_budget, 0, LIMITS.files_budget_max) then
    return 'files_budget must be an integer 0..' .. LIMITS.files_budget_max .. ' (characters; 0 sends no other files)'
  end
  if not int(config.choices, 0, MAX_CHOICES) then return 'choices must be an integer 0..' .. MAX_CHOICES .. ' (0: no menu)' end
  if type(config.fallback_tab) ~= 'boolean' then return 'fallback_tab must be true or false' end
  return nil
end

-- Where Tab was pressed: anything that changes it makes an answer stale.
local function snapshot()
  local cursor = vim.api.nvim_win_get_cursor(0)
  local buf = vim.api.nvim_get_current_buf()
  return table.concat({ buf, vim.api.nvim_buf_get_changedtick(buf), cursor[1], cursor[2], vim.api.nvim_get_mode().mode }, ':')
end

-- A buffer's file path; unnamed and special buffers (help, terminal, nofile, ...) have none.
local function buffer_path(buf)
  if vim.bo[buf].buftype ~= '' then return '' end
  return vim.api.nvim_buf_get_name(buf)
end

-- The loaded, listed buffers, as select_files' candidates.
local function open_buffers()
  local out = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].buflisted then
      local path = buffer_path(buf)
      table.insert(out, {
        path = path,
        language = M.server_language(vim.bo[buf].filetype, path),
        text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n'),
        used = recent[buf] or 0,
        untitled = path == '',
        binary = vim.bo[buf].binary,
      })
    end
  end
  return out
end

-- The request for the current buffer and cursor.
function M.build_request()
  local buf = vim.api.nvim_get_current_buf()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local line = lines[row] or ''
  local before = vim.list_slice(lines, 1, row - 1)
  table.insert(before, line:sub(1, col))
  local after = { line:sub(col + 1) }
  vim.list_extend(after, vim.list_slice(lines, row + 1, #lines))
  local path = buffer_path(buf)
  local language = M.server_language(vim.bo[buf].filetype, vim.api.nvim_buf_get_name(buf))
  local files = {}
  if M.config.files_budget > 0 then
    files = M.select_files({ path = path, language = language }, open_buffers(), M.config.files_budget)
  end
  return M.build_body(
    { text = table.concat(before, '\n'), suffix = table.concat(after, '\n'), language = language, path = path, files = files },
    { max_chars = M.config.max_chars, stop = M.config.stop, request_options = M.config.request_options, choices = M.config.choices })
end

-- curl's stdout is the body, a newline, then the HTTP status (-w). Returns the answer, or nil and a failure.
local function parse_response(stdout, exit_code)
  local url = M.config.server_url
  if exit_code == 28 then return nil, { kind = 'timeout', timeout_ms = M.config.timeout_ms } end
  if exit_code == 7 then return nil, { kind = 'unreachable', url = url } end
  if exit_code ~= 0 then return nil, { kind = 'network', url = url, detail = 'curl exit ' .. exit_code } end
  local status = tonumber(stdout:match('(%d+)%s*$'))
  local body = stdout:gsub('\n?%d+%s*$', '')
  local ok, decoded = pcall(vim.fn.json_decode, body)
  if not ok then return nil, { kind = 'not-json', status = status } end
  if status ~= 200 then
    local message = type(decoded) == 'table' and type(decoded.error) == 'table' and decoded.error.message or 'no message'
    return nil, { kind = 'http', status = status, message = tostring(message) }
  end
  local answer, why = M.validate_answer(decoded)
  if not answer then return nil, { kind = 'bad-answer', why = why } end
  return answer
end

-- The editor's own Tab, ahead of anything typed since ('i'), without our mapping ('n').
local function normal_tab()
  if vim.api.nvim_get_mode().mode == 'i' then vim.api.nvim_feedkeys(TAB, 'ni', false) end
end

-- One undo step: break the undo sequence before it and, for what is typed next, after it (<C-g>u),
-- so `u` removes exactly the completion.
local function insert_at_cursor(text)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lines = vim.split(text, '\n', { plain = true })
  vim.o.undolevels = vim.o.undolevels -- setting 'undolevels' breaks undo (:help undo-blocks)
  vim.api.nvim_buf_set_text(0, row - 1, col, row - 1, col, lines)
  local end_row = row + #lines - 1
  local end_col = (#lines == 1) and (col + #lines[1]) or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { end_row, end_col })
  if vim.api.nvim_get_mode().mode == 'i' then vim.api.nvim_feedkeys(UNDO_BREAK, 'ni', false) end
end

function M.cancel()
  if pending then
    local job = pending.job
    pending = nil
    pcall(vim.fn.jobstop, job)
  end
end

-- The popup menu of choices (:help complete()): the first is highlighted but not inserted until picked
-- (<C-y>, Tab or Enter after moving to it with <C-n>/<C-p>/arrows); <C-e> or Esc dismisses it, and typing
-- closes it, keeping what was typed. An undo break before it and after the pick make the pick one undo step.
local function show_menu(items, last)
  local words = {}
  for _, item in ipairs(items) do
    if not item.text:find('\n', 1, true) then -- a popup menu item is one line of text
      table.insert(words, { word = item.text, abbr = item.label, menu = item.detail, empty = 1, dup = 1, user_data = MENU_TAG })
    end
  end
  if #words == 0 or vim.api.nvim_get_mode().mode ~= 'i' then return false end
  menu = { completeopt = vim.o.completeopt, typed = false, last = last, words = words, before = snapshot() }
  -- Through the typeahead, so the undo break (<C-g>u) is made before complete() opens the menu.
  vim.api.nvim_feedkeys(UNDO_BREAK .. vim.api.nvim_replace_termcodes("<Cmd>lua require('tabcomplete')._open_menu()<CR>", true, false, true),
    'n', false)
  return true
end

function M._open_menu()
  if not menu or menu.opened then return end
  if snapshot() ~= menu.before then -- typed or moved meanwhile: a stale menu is never shown
    menu.last.menu.done = true
    menu = nil
    return
  end
  menu.opened = true
  vim.o.completeopt = 'menuone,noinsert'
  vim.fn.complete(vim.api.nvim_win_get_cursor(0)[2] + 1, menu.words)
end

-- CompleteDone: the menu closed; a pick is what the user took.
local function menu_done()
  if not menu or not menu.opened then return end
  local m = menu
  menu = nil
  vim.o.completeopt = m.completeopt
  local item = vim.v.completed_item
  local picked = type(item) == 'table' and item.user_data == MENU_TAG and type(item.word) == 'string' and item.word ~= ''
  local line = vim.api.nvim_get_current_line():sub(1, vim.api.nvim_win_get_cursor(0)[2])
  if picked and line:sub(-#item.word) == item.word then
    m.last.menu.picked = item.word
    if vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then vim.api.nvim_feedkeys(UNDO_BREAK, 'n', false) end
  end
  m.last.menu.done = true
end

-- Carries out decide_answer's decision.
local function conclude(decision, request, answer, failure)
  M.last = { request = request, answer = answer, error = failure and M.failure_message(failure),
             outcome = OUTCOMES[decision.action], reason = decision.reason }
  if decision.action == 'insert' then insert_at_cursor(answer.completion) end
  if decision.action == 'menu' then
    local items = M.menu_items(answer.choices)
    M.last.menu = { items = items, done = false }
    if not show_menu(items, M.last) then
      M.last.outcome, M.last.reason, M.last.menu = 'none', 'no-menu', nil
      set_status({ state = 'dropped', message = 'this editor cannot show the choices' })
      return
    end
  end
  set_status(decision.status)
  if decision.action == 'tab' then normal_tab() end
end

-- Called when the curl job ends, on the main loop.
local function finish(job, stdout, exit_code)
  if not pending or pending.job ~= job then return end -- superseded or cancelled
  local p = pending
  pending = nil
  local answer, failure = parse_response(stdout, exit_code)
  local result = answer and { completion = answer.completion, choices = answer.choices, ms = (hrtime() - p.started) / 1e6 }
    or { failure = failure }
  conclude(M.decide_answer({ force = p.force, unchanged = snapshot() == p.before, result = result,
                             fallback_tab = M.config.fallback_tab }), p.request, answer, failure)
end

local function start_request(force)
  M.cancel()
  local before, request = snapshot(), M.build_request()
  local args = {
    'curl', '-sS', '--max-time', string.format('%.3f', M.config.timeout_ms / 1000),
    '-X', 'POST', '-H', 'Content-Type: application/json', '-H', 'Accept: application/json',
    '--data-binary', '@-', '-w', '\n%{http_code}',
  }
  local header_file = nil
  if M.config.token ~= '' then
    -- The token goes in a private temp file, not on the command line where `ps` would show it.
    header_file = vim.fn.tempname()
    vim.fn.writefile({ 'Authorization: Bearer ' .. M.config.token }, header_file)
    vim.list_extend(args, { '-H', '@' .. header_file })
  end
  table.insert(args, M.config.server_url .. '/complete')
  local chunks = {}
  local ok, job = pcall(vim.fn.jobstart, args, {
    stdout_buffered = true,
    on_stdout = function(_, data) chunks = data end,
    on_exit = function(id, code)
      if header_file then os.remove(header_file) end
      finish(id, table.concat(chunks, '\n'), code)
    end,
  })
  if not ok or job <= 0 then
    local failure = { kind = 'network', url = M.config.server_url, detail = 'cannot run curl' }
    conclude(M.decide_answer({ force = force, unchanged = true, result = { failure = failure }, fallback_tab = M.config.fallback_tab }),
             request, nil, failure)
    return
  end
  pending = { job = job, before = before, request = request, force = force, started = hrtime() }
  set_status({ state = 'waiting' })
  vim.fn.chansend(job, vim.fn.json_encode(request))
  vim.fn.chanclose(job, 'stdin')
end

local function on_tab(force)
  local col = vim.api.nvim_win_get_cursor(0)[2]
  local decision = M.decide_tab({
    enabled = M.config.enabled,
    simple = vim.fn.pumvisible() == 0, -- the popup menu's own Tab comes first
    line_prefix = vim.api.nvim_get_current_line():sub(1, col),
    language = M.server_language(vim.bo.filetype, vim.api.nvim_buf_get_name(0)),
    languages = M.config.languages,
    force = force,
  })
  if decision.action == 'request' then return start_request(force) end
  if decision.action ~= 'none' then normal_tab() end
end

-- The <Tab> mapping. Not an expr mapping: those are evaluated while keys typed just before Tab may
-- still wait in typeahead, so the line would look empty. A callback mapping runs in order, like <Cmd>.
-- While the choices show, Tab picks the highlighted one.
function M.tab()
  if menu and menu.opened and vim.fn.pumvisible() == 1 then
    vim.api.nvim_feedkeys(ACCEPT, 'n', false)
    return
  end
  on_tab(false)
end

-- :TabcompleteNow — ask even in indentation; on failure do nothing (no Tab was typed).
function M.complete_now()
  on_tab(true)
end

function M.toggle()
  M.config.enabled = not M.config.enabled
  set_status({ state = M.config.enabled and 'idle' or 'off' })
  return M.config.enabled
end

function M.status()
  return vim.g.tabcomplete_status or 'tabcomplete'
end

local function touch(buf)
  tick = tick + 1
  recent[buf] = tick
end

function M.setup(opts)
  opts = opts or {}
  local config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts)
  config.languages = opts.languages or config.languages -- a list replaces, it does not merge by index
  local problem = validate(config)
  if problem then
    vim.notify('tabcomplete: ' .. problem .. '; keeping the previous settings', vim.log.levels.ERROR)
    return false
  end
  config.server_url = config.server_url:gsub('/+$', '')
  M.config = config
  if config.keymap then
    vim.keymap.set('i', '<Tab>', M.tab, { desc = 'tabcomplete: complete or indent' })
  end
  local group = vim.api.nvim_create_augroup('tabcomplete', { clear = true })
  -- Typing or leaving insert mode makes a pending answer stale: stop the request.
  vim.api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI', 'InsertLeave' }, {
    group = group,
    callback = function(event)
      if pending and (event.event == 'InsertLeave' or snapshot() ~= pending.before) then
        local request = pending.request
        M.cancel()
        conclude(M.decide_answer({ result = { cancelled = true } }), request)
      end
    end,
  })
  -- The popup menu of choices: typing closes it (keeping what was typed); its end restores 'completeopt'.
  vim.api.nvim_create_autocmd('InsertCharPre', {
    group = group,
    callback = function() if menu and menu.opened then menu.typed = true end end,
  })
  vim.api.nvim_create_autocmd({ 'TextChangedP', 'TextChangedI' }, {
    group = group,
    callback = function()
      if menu and menu.opened and menu.typed and vim.api.nvim_get_mode().mode == 'ic' then
        menu.typed = false
        vim.api.nvim_feedkeys(DISMISS, 'n', false)
      end
    end,
  })
  vim.api.nvim_create_autocmd('CompleteDone', { group = group, callback = menu_done })
  vim.api.nvim_create_autocmd('InsertLeave', {
    group = group,
    callback = function() -- left insert mode before the menu opened, or while it showed
      if menu then
        vim.o.completeopt = menu.completeopt
        menu.last.menu.done = true
        menu = nil
      end
    end,
  })
  -- The order buffers were last entered in: `files` sends the most recent first.
  vim.api.nvim_create_autocmd('BufEnter', { group = group, callback = function(event) touch(event.buf) end })
  vim.api.nvim_create_autocmd('BufWipeout', { group = group, callback = function(event) recent[event.buf] = nil end })
  touch(vim.api.nvim_get_current_buf())
  set_status({ state = config.enabled and 'idle' or 'off' })
  return true
end

return M
