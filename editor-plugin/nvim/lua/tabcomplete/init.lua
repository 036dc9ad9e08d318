-- tabcomplete for Neovim 0.7+: Tab after code in insert mode asks the tabcomplete server and inserts
-- its answer at the cursor as one undo step. The request runs in a curl job, so the editor never waits.
local M = {}

local CONTEXT_BYTES = 4000 -- DESIGN.md: text is the buffer up to the cursor, last 4000 chars
local SUFFIX_BYTES = 4000
local STOP_MODES = { line = true, block = true, none = true }
local TAB = vim.api.nvim_replace_termcodes('<Tab>', true, false, true)
local UNDO_BREAK = vim.api.nvim_replace_termcodes('<C-g>u', true, false, true)

local defaults = {
  enabled = true,
  server_url = 'http://127.0.0.1:8000',
  timeout_ms = 3000,
  max_chars = 80,
  stop = 'line',
  token = '',
  languages = { 'python' }, -- filetypes; '*' enables every filetype
  keymap = true, -- map <Tab> in insert mode
  request_options = {}, -- extra POST /complete fields: temperature, min_prob, seed
}
local REQUEST_OPTIONS = { temperature = true, min_prob = true, seed = true }

M.config = vim.deepcopy(defaults)
M.state = 'idle' -- idle | waiting | ok | empty | dropped | error | off
M.last = nil -- {request = table, answer = table|nil, outcome = string}: what the last Tab did
local pending = nil -- {job = id, seq = n, before = snapshot, request = body}
local seq = 0

local function set_status(state, message)
  M.state = state
  local text = ({
    idle = 'tabcomplete',
    off = 'tabcomplete off',
    waiting = 'tabcomplete …',
    ok = 'tabcomplete ' .. tostring(message),
  })[state] or ('tabcomplete: ' .. (message or state))
  vim.g.tabcomplete_status = text
  vim.cmd('redrawstatus')
  if state == 'error' then
    -- Neovim has no shared status bar; the message line is the closest, and stays out of :messages.
    vim.api.nvim_echo({ { text, 'WarningMsg' } }, false, {})
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
  return nil
end

local function language_enabled(filetype)
  for _, lang in ipairs(M.config.languages) do
    if lang == '*' or lang == filetype then return true end
  end
  return false
end

-- Cut at a byte count without splitting a UTF-8 character (drop leading continuation bytes).
local function tail_bytes(s, n)
  if #s <= n then return s end
  return (s:sub(-n):gsub('^[\128-\191]+', ''))
end

local function head_bytes(s, n)
  if #s <= n then return s end
  local cut = n
  while cut > 0 and s:byte(cut + 1) >= 128 and s:byte(cut + 1) < 192 do cut = cut - 1 end
  return s:sub(1, cut)
end

-- Where Tab was pressed: anything that changes it makes an answer stale.
local function snapshot()
  local cursor = vim.api.nvim_win_get_cursor(0)
  local buf = vim.api.nvim_get_current_buf()
  return table.concat({ buf, vim.api.nvim_buf_get_changedtick(buf), cursor[1], cursor[2], vim.api.nvim_get_mode().mode }, ':')
end

function M.build_request()
  local buf = vim.api.nvim_get_current_buf()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local line = lines[row] or ''
  local before = vim.list_slice(lines, 1, row - 1)
  table.insert(before, line:sub(1, col))
  local after = { line:sub(col + 1) }
  vim.list_extend(after, vim.list_slice(lines, row + 1, #lines))
  local body = vim.tbl_extend('force', M.config.request_options, {
    text = tail_bytes(table.concat(before, '\n'), CONTEXT_BYTES),
    suffix = head_bytes(table.concat(after, '\n'), SUFFIX_BYTES),
    max_chars = M.config.max_chars,
    stop = M.config.stop,
  })
  if vim.bo.filetype ~= '' then body.language = vim.bo.filetype end
  return body
end

-- The 200 answer per DESIGN.md; returns the answer or nil and the reason.
function M.validate_answer(answer)
  if type(answer) ~= 'table' then return nil, 'not a JSON object' end
  if type(answer.completion) ~= 'string' then return nil, '"completion" is not a string' end
  if type(answer.alternatives) ~= 'table' then return nil, '"alternatives" is not a list' end
  for _, alt in ipairs(answer.alternatives) do
    if type(alt) ~= 'string' then return nil, '"alternatives" is not a list of strings' end
  end
  if type(answer.model) ~= 'string' then return nil, '"model" is not a string' end
  if type(answer.elapsed_ms) ~= 'number' then return nil, '"elapsed_ms" is not a number' end
  return answer
end

-- curl's stdout is the body, a newline, then the HTTP status (-w). Returns answer or nil, reason.
local function parse_response(stdout, exit_code)
  if exit_code == 28 then return nil, 'timeout after ' .. M.config.timeout_ms .. ' ms' end
  if exit_code == 7 then return nil, 'server not running at ' .. M.config.server_url end
  if exit_code ~= 0 then return nil, 'curl failed (exit ' .. exit_code .. ') for ' .. M.config.server_url end
  local status = tonumber(stdout:match('(%d+)%s*$'))
  local body = stdout:gsub('\n?%d+%s*$', '')
  local ok, decoded = pcall(vim.fn.json_decode, body)
  if not ok then return nil, 'server answered ' .. tostring(status) .. ' with a body that is not JSON' end
  if status ~= 200 then
    local message = type(decoded) == 'table' and type(decoded.error) == 'table' and decoded.error.message or 'no message'
    return nil, 'server error ' .. tostring(status) .. ': ' .. tostring(message)
  end
  local answer, why = M.validate_answer(decoded)
  if not answer then return nil, 'bad answer from server: ' .. why end
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

-- Called when the curl job ends, on the main loop.
local function finish(my_seq, before, request, stdout, exit_code, force)
  if not pending or pending.seq ~= my_seq then return end -- superseded or cancelled
  pending = nil
  local answer, why = parse_response(stdout, exit_code)
  local unchanged = snapshot() == before
  M.last = { request = request, answer = answer, error = why }
  if not answer then
    set_status('error', why)
    if unchanged and not force then normal_tab() end
    M.last.outcome = unchanged and 'tab' or 'dropped'
    return
  end
  if not unchanged then
    set_status('dropped', 'answer dropped (text changed)')
    M.last.outcome = 'dropped'
    return
  end
  if answer.completion == '' then
    set_status('empty', 'no completion (' .. math.floor(answer.elapsed_ms) .. ' ms)')
    if not force then normal_tab() end
    M.last.outcome = 'tab'
    return
  end
  insert_at_cursor(answer.completion)
  set_status('ok', math.floor(answer.elapsed_ms) .. ' ms')
  M.last.outcome = 'inserted'
end

local function start_request(force)
  M.cancel()
  seq = seq + 1
  local my_seq = seq
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
  table.insert(args, M.config.server_url:gsub('/+$', '') .. '/complete')
  local chunks = {}
  local ok, job = pcall(vim.fn.jobstart, args, {
    stdout_buffered = true,
    on_stdout = function(_, data) chunks = data end,
    on_exit = function(_, code)
      if header_file then os.remove(header_file) end
      finish(my_seq, before, request, table.concat(chunks, '\n'), code, force)
    end,
  })
  if not ok or job <= 0 then
    set_status('error', 'cannot run curl')
    if not force then normal_tab() end
    return
  end
  pending = { job = job, seq = my_seq, before = before, request = request }
  set_status('waiting')
  vim.fn.chansend(job, vim.fn.json_encode(request))
  vim.fn.chanclose(job, 'stdin')
end

-- The <Tab> mapping. Not an expr mapping: those are evaluated while keys typed just before Tab may
-- still wait in typeahead, so the line would look empty. A callback mapping runs in order, like <Cmd>.
function M.tab()
  local col = vim.api.nvim_win_get_cursor(0)[2]
  local line_prefix = vim.api.nvim_get_current_line():sub(1, col)
  if not M.config.enabled or vim.fn.pumvisible() == 1 or line_prefix:match('^%s*$')
      or not language_enabled(vim.bo.filetype) then
    return normal_tab()
  end
  start_request(false)
end

-- :TabcompleteNow — ask even in indentation; on failure do nothing (no Tab was typed).
function M.complete_now()
  start_request(true)
end

function M.toggle()
  M.config.enabled = not M.config.enabled
  set_status(M.config.enabled and 'idle' or 'off')
  return M.config.enabled
end

function M.status()
  return vim.g.tabcomplete_status or 'tabcomplete'
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
        M.last = { request = pending.request, outcome = 'dropped' }
        M.cancel()
        set_status('dropped', 'cancelled (text changed)')
      end
    end,
  })
  set_status(config.enabled and 'idle' or 'off')
  return true
end

return M
