-- Loaded from 'runtimepath': commands, and the default setup unless the user calls setup() themselves
-- (set vim.g.tabcomplete_auto_setup = false before this file loads, e.g. with lazy.nvim's opts).
if vim.g.loaded_tabcomplete then return end
vim.g.loaded_tabcomplete = 1

local tabcomplete = require('tabcomplete')
vim.api.nvim_create_user_command('TabcompleteNow', tabcomplete.complete_now, { desc = 'tabcomplete: complete at the cursor now' })
vim.api.nvim_create_user_command('TabcompleteToggle', function()
  vim.notify('tabcomplete ' .. (tabcomplete.toggle() and 'on' or 'off'))
end, { desc = 'tabcomplete: turn Tab completion on or off' })
vim.api.nvim_create_user_command('TabcompleteStatus', function()
  vim.notify(tabcomplete.status())
end, { desc = 'tabcomplete: show the last status' })

if vim.g.tabcomplete_auto_setup ~= false then tabcomplete.setup(vim.g.tabcomplete or {}) end
