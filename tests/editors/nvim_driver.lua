-- Drives a headless Neovim (0.7 and later) like a user: open a .tex file, wait for texcite, go to a spot, type in
-- Insert mode, press <C-x><C-o> and read the completion menu Neovim built (complete_info()), then cancel.
-- Loaded with `nvim --headless -u <config from docs/editors.md> -c 'luafile nvim_driver.lua' FILE`.
-- The cases come from the JSON file $TEXCITE_NVIM_SPEC; the results go to the JSON file $TEXCITE_NVIM_OUT.
-- Every wait polls a condition (50 ms ticks) up to a deadline; nothing sleeps for a fixed time.

local uv = vim.uv or vim.loop
local spec = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('TEXCITE_NVIM_SPEC')), '\n'))
local out_path = os.getenv('TEXCITE_NVIM_OUT')
vim.o.showmode = false -- headless Neovim prints "-- INSERT --" to the terminal otherwise
local results = { version = vim.fn.execute('version'):match('NVIM v[^\n]*'), cases = {}, log = {} }

local function log(msg)
  table.insert(results.log, string.format('%.1f %s', uv.hrtime() / 1e9, msg))
end

local function finish(code)
  results.messages = vim.fn.execute('messages')
  vim.fn.writefile({ vim.fn.json_encode(results) }, out_path)
  vim.cmd((code == 0) and 'qall!' or 'cquit! ' .. code)
end

local function texcite_client(bufnr)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
  for _, client in pairs(clients) do
    if client.name == 'texcite' then
      return client
    end
  end
  return nil
end

local function request(client, method, params, handler, bufnr)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

-- Coroutine plumbing: `wait_for(cond, ms, what)` yields until cond() is truthy; a repeating timer resumes.
local co
local function wait_for(cond, timeout_ms, what)
  local deadline = uv.hrtime() + timeout_ms * 1e6
  while true do
    local ok, value = pcall(cond)
    if ok and value then
      return value
    end
    if uv.hrtime() > deadline then
      error(string.format('timed out after %d ms waiting for %s', timeout_ms, what), 0)
    end
    coroutine.yield()
  end
end

local function feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'n', false)
end

-- The server says it is ready: entries indexed, nothing loading and (when the spec names it) the recall stage that
-- `texcite suggest` used for the expected ranking, e.g. "hybrid" once the MiniLM embeddings are in.
local function status_ready(status)
  if type(status) ~= 'table' then
    return false
  end
  local entries = status.indexedEntries or 0
  if entries == 0 then
    return false
  end
  if status.state == 'loading' or status.reranker == 'loading' then
    return false
  end
  if type(status.loading) == 'string' and status.loading ~= '' then
    return false
  end
  if type(status.recall) == 'string' and status.recall:find('embedding') then
    return false
  end
  if spec.expect_recall ~= nil and spec.expect_recall ~= vim.NIL and status.recall ~= spec.expect_recall then
    return false
  end
  return true
end

local function run_case(case)
  local record = { name = case.name }
  table.insert(results.cases, record)
  if vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':p') ~= vim.fn.fnamemodify(case.file, ':p') then
    vim.cmd('edit ' .. vim.fn.fnameescape(case.file))
  end
  local bufnr = vim.api.nvim_get_current_buf()
  record.filetype = vim.bo[bufnr].filetype
  record.omnifunc = vim.bo[bufnr].omnifunc
  local client = wait_for(function()
    return texcite_client(bufnr)
  end, spec.timeout_ms, 'the texcite client to attach')
  record.root_dir = client.config.root_dir
  log(case.name .. ': attached, root ' .. tostring(record.root_dir))

  -- Wait for the server to have indexed the bibliography and loaded its ranking models.
  local status, pending = nil, false
  local ok, err = pcall(wait_for, function()
    if not pending then
      pending = true
      request(client, 'texcite/status', vim.empty_dict(), function(err, result)
        pending = false
        status = (not err) and result or status
      end, bufnr)
    end
    return status_ready(status)
  end, spec.timeout_ms, 'texcite/status to report the index ready')
  record.status = status
  if not ok then
    error(err .. '; last status: ' .. vim.fn.json_encode(status or vim.NIL), 0)
  end
  log(case.name .. ': server ready')

  -- Type in Insert mode after the text that stands before the insertion point, then <C-x><C-o>.
  local row, col = case.line + 1, case.col -- col: 0-based byte index of the insertion point
  local original = vim.api.nvim_buf_get_lines(bufnr, case.line, case.line + 1, false)[1]
  if col == 0 then
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    feed('i' .. case.typed .. '<C-x><C-o>')
  else
    vim.api.nvim_win_set_cursor(0, { row, col - 1 })
    feed('a' .. case.typed .. '<C-x><C-o>')
  end
  local info = wait_for(function()
    local i = vim.fn.complete_info({ 'items', 'mode', 'selected' })
    return (#i.items > 0) and i or nil
  end, spec.timeout_ms, 'the omni completion menu')
  record.items = {}
  for _, item in ipairs(info.items) do
    table.insert(record.items, { word = item.word, abbr = item.abbr, menu = item.menu })
  end
  record.complete_mode = info.mode
  record.pumvisible = vim.fn.pumvisible()
  log(case.name .. ': menu with ' .. #record.items .. ' items, first ' .. tostring(record.items[1].word))

  -- Cancel the menu (<C-e> puts back what was typed), read the line, leave Insert mode and restore the line.
  feed('<C-e>')
  wait_for(function()
    return vim.fn.pumvisible() == 0 and #vim.fn.complete_info({ 'items' }).items == 0
  end, 10000, 'the menu to close')
  record.typed_line = vim.api.nvim_get_current_line()
  record.typed_cursor = vim.api.nvim_win_get_cursor(0) -- {row, byte col}: the insertion point after the typing
  feed('<Esc>')
  wait_for(function()
    return vim.fn.mode() == 'n'
  end, 10000, 'Normal mode')
  vim.api.nvim_buf_set_lines(bufnr, case.line, case.line + 1, false, { original })
end

-- A session: Insert mode at the end of a line, then steps, each recorded with the line and menu after it.
--   { keys = KEYS }   feed KEYS (Insert mode; <C-x><C-o>, <C-n>, <C-y> and so on in Vim's notation)
--   { menu_first = KEY }   then wait until the menu's first item is KEY (the server answered for what was typed)
--   { menu = true }        then wait until a menu is shown
--   { closed = true }      then wait until no menu is shown
--   { again = KEYS }       with menu_first: feed KEYS again every 2 s until it holds (a user asking again)
--   { code_action = TEXT, key = KEY }  wait for a diagnostic on the line whose message holds TEXT, then run the
--                          quick fix adding KEY:
--                          vim.lsp.buf.code_action({ apply = true, filter = … }) on 0.8+, on 0.7 with vim.ui.select
--                          picking the quick fix
--   { buffer = PATH, holds = TEXT }  wait until the buffer of PATH holds TEXT; record its lines and 'modified'
--   { save = PATH }        write the buffer of PATH
local function menu_words()
  local words = {}
  for _, item in ipairs(vim.fn.complete_info({ 'items' }).items) do
    table.insert(words, item.abbr ~= '' and item.abbr or item.word)
  end
  return words
end


local function line_diagnostic(bufnr, text, key)
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = row })) do
    if d.message:find(text, 1, true) and d.message:find("'" .. key .. "'", 1, true) then
      return d
    end
  end
  return nil
end

local function quick_fix(got, key)
  local function wanted(action)
    return action.kind == 'quickfix' and action.title:find('Add ' .. key .. ' from your library', 1, true) ~= nil
  end
  if vim.fn.has('nvim-0.8') == 1 then
    vim.lsp.buf.code_action({ apply = true, filter = wanted })
    return
  end
  local select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice) -- 0.7 always asks; pick the quick fix as a user would
    vim.ui.select = select
    for i, item in ipairs(items) do
      local action = item[2]
      got.offered = got.offered or {}
      table.insert(got.offered, action.title)
      if wanted(action) then
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
end

local function run_special(step, got, bufnr)
  if step.code_action then
    local d = wait_for(function()
      return line_diagnostic(bufnr, step.code_action, step.key)
    end, spec.timeout_ms, 'a diagnostic holding ' .. step.code_action)
    got.diagnostic = d.message
    quick_fix(got, step.key)
  elseif step.buffer then
    local b = wait_for(function()
      local b = vim.fn.bufnr(step.buffer)
      return b ~= -1 and vim.api.nvim_buf_is_loaded(b)
        and table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n'):find(step.holds, 1, true) and b
    end, spec.timeout_ms, step.buffer .. ' to hold ' .. step.holds)
    got.text = table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n')
    got.modified = vim.bo[b].modified
  elseif step.save then
    vim.api.nvim_buf_call(vim.fn.bufnr(step.save), function()
      vim.cmd('write')
    end)
  end
  got.line = vim.api.nvim_get_current_line()
  got.mode = vim.fn.mode()
  log(string.format('%s -> %s %s (mode %s)', vim.fn.json_encode(step), got.line, got.diagnostic or '', got.mode))
end

local function run_session(case)
  local record = { name = case.name, steps = {} }
  table.insert(results.cases, record)
  vim.cmd('edit ' .. vim.fn.fnameescape(case.file))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = wait_for(function()
    return texcite_client(bufnr)
  end, spec.timeout_ms, 'the texcite client to attach')
  local status, pending = nil, false
  local ready, err = pcall(wait_for, function()
    if not pending then
      pending = true
      request(client, 'texcite/status', vim.empty_dict(), function(e, result)
        pending = false
        status = (not e) and result or status
      end, bufnr)
    end
    return status_ready(status)
  end, spec.timeout_ms, 'texcite/status to report the index ready')
  if not ready then
    error(err .. '; last status: ' .. vim.fn.json_encode(status or vim.NIL), 0)
  end
  vim.api.nvim_win_set_cursor(0, { case.line + 1, 0 })
  feed('A')
  for i, step in ipairs(case.steps) do
    local got = { keys = step.keys }
    table.insert(record.steps, got)
    if not step.keys then
      local ok, err = pcall(run_special, step, got, bufnr)
      if not ok then
        got.error = err
        break
      end
      goto continue
    end
    feed(step.keys)
    local asked = uv.hrtime()
    local ok, err = pcall(wait_for, function()
      local words = menu_words()
      if step.menu_first and step.again and words[1] ~= step.menu_first and uv.hrtime() - asked > 2e9 then
        feed(step.again)
        asked = uv.hrtime()
      end
      if step.menu_first then
        return words[1] == step.menu_first
      end
      if step.menu then
        return #words > 0
      end
      if step.closed then
        return vim.fn.pumvisible() == 0
      end
      return vim.fn.mode() == 'i'
    end, step.again and spec.timeout_ms or 20000, string.format('step %d (%s)', i, step.keys))
    got.line = vim.api.nvim_get_current_line()
    got.menu = menu_words()
    log(string.format('%s -> %s [%s]', step.keys, got.line, table.concat(got.menu, ' ')))
    if not ok then
      got.error = err
      break
    end
    ::continue::
  end
  feed('<Esc>')
end

co = coroutine.create(function()
  for _, case in ipairs(spec.cases) do
    if case.steps then
      run_session(case)
    else
      run_case(case)
    end
  end
end)

local timer = uv.new_timer()
timer:start(0, 50, vim.schedule_wrap(function()
  if coroutine.status(co) == 'dead' then
    return
  end
  local ok, err = coroutine.resume(co)
  if not ok then
    timer:stop()
    results.error = tostring(err)
    log('error: ' .. tostring(err))
    finish(3)
  elseif coroutine.status(co) == 'dead' then
    timer:stop()
    finish(0)
  end
end))
