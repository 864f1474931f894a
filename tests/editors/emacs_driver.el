;;; emacs_driver.el --- drive Emacs + Eglot like a user, for tests/editors/test_emacs.py  -*- lexical-binding: t -*-
;;
;; Loaded after the init code of docs/editors.md by `emacs --batch -q -l INIT -l emacs_driver.el'.  For each case of
;; the JSON file $TEXCITE_EMACS_SPEC: visit the file (its major mode runs `eglot-ensure'), wait for Eglot to connect
;; and for texcite to be ready, type at a spot, then ask for completion as `completion-at-point' does and read the
;; candidates in the order the *Completions* list shows them.  Results go to the JSON file $TEXCITE_EMACS_OUT.
;; Every wait polls a condition until a deadline; nothing sleeps blindly.

(require 'json)
(require 'cl-lib)
(require 'subr-x)

(defvar texcite-test--spec
  (with-temp-buffer
    (insert-file-contents (getenv "TEXCITE_EMACS_SPEC"))
    (json-parse-buffer :object-type 'plist :array-type 'list :null-object nil :false-object nil)))
(defvar texcite-test--log nil)
(defvar texcite-test--cases nil)

(defun texcite-test--say (fmt &rest args)
  (push (format "%.1f %s" (float-time) (apply #'format fmt args)) texcite-test--log))

(defun texcite-test--write (error-message)
  (with-temp-file (getenv "TEXCITE_EMACS_OUT")
    (insert (json-encode
             (list :version (emacs-version)
                   :eglot (or (locate-library "eglot") "")
                   :error (or error-message "")
                   :cases (vconcat (reverse texcite-test--cases))
                   :log (vconcat (reverse texcite-test--log))
                   :messages (with-current-buffer (messages-buffer) (buffer-string))
                   :events (or (ignore-errors  ; the end of the Eglot events buffer, for a failure's report
                                 (with-current-buffer (jsonrpc-events-buffer
                                                       (car (car (hash-table-values eglot--servers-by-project))))
                                   (buffer-substring-no-properties (max (point-min) (- (point-max) 8000))
                                                                   (point-max))))
                               ""))))))

(defun texcite-test--wait (what timeout-s predicate)
  "Poll PREDICATE (processing process output in between) until non-nil or TIMEOUT-S; return its value."
  (let ((deadline (+ (float-time) timeout-s)) value)
    (while (not (setq value (ignore-errors (funcall predicate))))
      (when (> (float-time) deadline)
        (error "Timed out after %ss waiting for %s" timeout-s what))
      (accept-process-output nil 0.05))
    value))

(defun texcite-test--status-ready (status expect-recall)
  (and status
       (> (or (plist-get status :indexedEntries) 0) 0)
       (not (equal (plist-get status :state) "loading"))
       (not (equal (plist-get status :reranker) "loading"))
       (let ((loading (plist-get status :loading))) (or (not (stringp loading)) (string-empty-p loading)))
       (let ((recall (plist-get status :recall)))
         (and (not (and (stringp recall) (string-match-p "embedding" recall)))
              (or (null expect-recall) (equal recall expect-recall))))))

(defun texcite-test--candidates ()
  "What `completion-at-point' would offer at point, in the order of the *Completions* list."
  (let ((res (run-hook-wrapped 'completion-at-point-functions #'completion--capf-wrapper 'all)))
    (pcase res
      (`(,_hookfun . (,start ,end ,table . ,plist))
       (let* ((probe (buffer-substring-no-properties start (point)))
              (pred (plist-get plist :predicate))
              (md (completion-metadata probe table pred))
              (all (completion-all-completions probe table pred (length probe) md))
              (sort-fn (completion-metadata-get md 'display-sort-function)))
         (when (consp all) (setcdr (last all) nil))
         (setq all (mapcar #'substring-no-properties all))
         (list :function (format "%s" (car res)) :start (- start (line-beginning-position))
               :end (- end (line-beginning-position)) :probe probe
               :items (vconcat (if sort-fn (funcall sort-fn all) all)))))
      (_ (list :function (format "%S" res) :items [])))))

(defun texcite-test--press-complete ()
  "Run what C-M-i runs and report what the user sees: the *Completions* list or the text put in the buffer."
  (let ((before (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
        (command (key-binding (kbd "C-M-i"))))
    (when-let ((old (get-buffer "*Completions*"))) (kill-buffer old))
    (let ((last-command nil) (this-command command))
      (call-interactively command))
    (let* ((after (buffer-substring-no-properties (line-beginning-position) (line-end-position)))
           (shown (when-let ((buf (get-buffer "*Completions*")))
                    (with-current-buffer buf
                      (let (items)
                        (goto-char (point-min))
                        (while (not (eobp))
                          (let ((beg (next-single-property-change (point) 'mouse-face)))
                            (if (null beg) (goto-char (point-max))
                              (let ((end (or (next-single-property-change beg 'mouse-face) (point-max))))
                                (push (string-trim (buffer-substring-no-properties beg end)) items)
                                (goto-char end)))))
                        (nreverse items))))))
      (when completion-in-region-mode (completion-in-region-mode -1))
      (list :command (format "%s" command) :line_before before :line_after after
            :completions (vconcat shown)))))

(defun texcite-test--run-case (case)
  (let* ((timeout (plist-get texcite-test--spec :timeout_s))
         (file (plist-get case :file))
         (record (list :name (plist-get case :name))))
    (find-file file)
    ;; Interactive Emacs runs post-command-hook after the command that visited the file; that is when
    ;; `eglot-ensure' connects.  --batch has no command loop, so run it here.
    (run-hooks 'post-command-hook)
    (setq record (plist-put record :mode (format "%s" major-mode)))
    (let ((server (texcite-test--wait "Eglot to manage the buffer" timeout
                                      (lambda () (and (eglot-managed-p) (eglot-current-server))))))
      (setq record (plist-put record :root (expand-file-name (project-root (eglot--project server)))))
      (texcite-test--say "%s: managed, root %s" (plist-get case :name) (plist-get record :root))
      (let ((status nil))
        (condition-case err
            (texcite-test--wait "texcite/status to report the index ready" timeout
                                (lambda ()
                                  (setq status (jsonrpc-request server :texcite/status (make-hash-table)))
                                  (texcite-test--status-ready status (plist-get texcite-test--spec :expect_recall))))
          (error (error "%s; last status: %S" (error-message-string err) status)))
        (setq record (plist-put record :status status))))
    (texcite-test--say "%s: server ready" (plist-get case :name))
    (let ((original (save-excursion
                      (goto-char (point-min)) (forward-line (plist-get case :line))
                      (buffer-substring-no-properties (line-beginning-position) (line-end-position)))))
      (goto-char (point-min))
      (forward-line (plist-get case :line))
      (forward-char (plist-get case :col))
      (insert (plist-get case :typed_before))
      (save-excursion (insert (plist-get case :typed_after)))
      (setq record (plist-put record :typed_line (buffer-substring-no-properties (line-beginning-position)
                                                                                (line-end-position))))
      (setq record (plist-put record :typed_col (- (point) (line-beginning-position))))
      (setq record (plist-put record :key_binding (format "%s" (key-binding (kbd "C-M-i")))))
      (let ((cands (texcite-test--candidates)))
        (setq record (plist-put record :capf cands))
        (texcite-test--say "%s: %d candidates, first %s" (plist-get case :name) (length (plist-get cands :items))
                           (and (> (length (plist-get cands :items)) 0) (aref (plist-get cands :items) 0))))
      (setq record (plist-put record :pressed (texcite-test--press-complete)))
      ;; Put the line back as it was, and send the change now: Eglot would wait for an idle timer, and the next
      ;; case's request (from another buffer) would otherwise reach the server first.
      (delete-region (line-beginning-position) (line-end-position))
      (insert original)
      (when (fboundp 'eglot--signal-textDocument/didChange)
        (eglot--signal-textDocument/didChange)))
    (push record texcite-test--cases)))

;; A session: a list of steps on one buffer, each recorded with the line after it.
;;   {"insert": TEXT}  insert TEXT at point (as typing does, but without the command loop)
;;   {"keys": TEXT}    type TEXT key by key with the command hooks run (company-mode follows the typing as it
;;                     does for a user)
;;   {"press": true}   press C-M-i: the *Completions* list, or the text it put in the buffer
;;   {"choose": true}  pick the first entry of the *Completions* list shown by the last press
;;   {"company": "begin" | "accept"}  open company's popup (`company-manual-begin') / accept its selection
;;   {"press": true, "until": TEXT}  press C-M-i again (a user trying again) until the line holds TEXT
;;   {"quickfix": TEXT}  wait for a Flymake diagnostic on the line whose text holds TEXT, then run
;;                     `eglot-code-actions' with point in the key before the cursor; Eglot's questions are answered
;;                     as a user would (RET on the default action, y) and recorded
;;   {"buffer": PATH, "holds": TEXT}  wait until the buffer visiting PATH holds TEXT; record its text
;;   {"save": PATH}    save the buffer visiting PATH
(defun texcite-test--completions-list ()
  (when-let ((buf (get-buffer "*Completions*")))
    (with-current-buffer buf
      (let (items)
        (goto-char (point-min))
        (while (not (eobp))
          (let ((beg (next-single-property-change (point) 'mouse-face)))
            (if (null beg) (goto-char (point-max))
              (let ((end (or (next-single-property-change beg 'mouse-face) (point-max))))
                (push (string-trim (buffer-substring-no-properties beg end)) items)
                (goto-char end)))))
        (nreverse items)))))

(defun texcite-test--type (char)
  "Type CHAR as the command loop does: pre-command-hook, `self-insert-command', post-command-hook.
\(`execute-kbd-macro' would first run post-command-hook with no command, which makes company-mode abort.)"
  (let ((this-command 'self-insert-command) (last-command-event char))
    (run-hooks 'pre-command-hook)
    (call-interactively #'self-insert-command)
    (run-hooks 'post-command-hook)
    (setq last-command this-command)))

(defun texcite-test--step (step)
  (let ((record (list :step step)))
    (cond
     ((plist-get step :insert) (insert (plist-get step :insert)))
     ((plist-get step :keys)
      (dolist (char (string-to-list (plist-get step :keys)))
        (texcite-test--type char)))
     ((and (plist-get step :press) (plist-get step :until))
      (let ((start (point)) (tries 0))
        (texcite-test--wait (format "C-M-i to put %s in the line" (plist-get step :until))
                            (plist-get texcite-test--spec :timeout_s)
                            (lambda ()
                              (delete-region start (point))
                              (goto-char start)
                              (setq tries (1+ tries))
                              (let ((last-command nil) (this-command (key-binding (kbd "C-M-i"))))
                                (call-interactively this-command))
                              (when completion-in-region-mode (completion-in-region-mode -1))
                              (or (string-search (plist-get step :until)
                                                 (buffer-substring-no-properties (line-beginning-position)
                                                                                 (line-end-position)))
                                  (progn (accept-process-output nil 0.5) nil))))
        (setq record (plist-put record :tries tries))))
     ((plist-get step :press)
      (when-let ((old (get-buffer "*Completions*"))) (kill-buffer old))
      (when completion-in-region-mode (completion-in-region-mode -1))
      (let ((last-command nil) (this-command (key-binding (kbd "C-M-i"))))
        (call-interactively this-command))
      (setq record (plist-put record :completions (vconcat (texcite-test--completions-list)))))
     ((plist-get step :quickfix)
      (when (fboundp 'eglot--signal-textDocument/didChange)
        (eglot--signal-textDocument/didChange))
      (let* ((kicked 0)
             (diagnostic
              (texcite-test--wait "a Flymake diagnostic from the library" (plist-get texcite-test--spec :timeout_s)
                                  (lambda ()
                                    (or (cl-find-if (lambda (d) (string-search (plist-get step :quickfix)
                                                                               (flymake-diagnostic-text d)))
                                                    (flymake-diagnostics (line-beginning-position)
                                                                         (line-end-position)))
                                        ;; Flymake checks after an idle time, which --batch Emacs may not reach
                                        (when (> (- (float-time) kicked) 1)
                                          (setq kicked (float-time))
                                          (flymake-start)
                                          nil)))))
             (prompts nil))
        (setq record (plist-put record :diagnostic (flymake-diagnostic-text diagnostic)))
        (save-excursion
          (backward-char 2)  ; inside the key
          ;; M-x eglot-code-actions, then RET on the default (the preferred action) and y to Eglot's question.
          ;; (Eglot 1.9's `eglot-code-action-quickfix' only lists the actions: it runs none.)
          (cl-letf (((symbol-function 'y-or-n-p) (lambda (prompt) (push prompt prompts) t))
                    ((symbol-function 'completing-read)
                     (lambda (prompt _collection &optional _pred _match _initial _hist def &rest _)
                       (push prompt prompts)
                       def)))
            (let ((last-nonmenu-event ?\r))  ; M-x … RET typed at the keyboard (else Eglot pops a mouse menu)
              (call-interactively #'eglot-code-actions))))
        (setq record (plist-put record :prompts (vconcat (reverse prompts))))))
     ((plist-get step :buffer)
      (let ((buffer (texcite-test--wait (format "%s to hold %s" (plist-get step :buffer) (plist-get step :holds))
                                        (plist-get texcite-test--spec :timeout_s)
                                        (lambda ()
                                          (let ((b (find-buffer-visiting (plist-get step :buffer))))
                                            (and b (with-current-buffer b
                                                     (string-search (plist-get step :holds) (buffer-string)))
                                                 b))))))
        (with-current-buffer buffer
          (setq record (plist-put record :text (buffer-substring-no-properties (point-min) (point-max))))
          (setq record (plist-put record :modified (if (buffer-modified-p) t :json-false))))))
     ((plist-get step :save)
      (with-current-buffer (find-buffer-visiting (plist-get step :save))
        (save-buffer)))
     ((plist-get step :choose)
      (let ((buffer (current-buffer)))
        (with-selected-window (let ((list (or (get-buffer "*Completions*")
                                              (error "No *Completions* list to choose from"))))
                                (or (get-buffer-window list) (display-buffer list)))
          (goto-char (or (next-single-property-change (point-min) 'mouse-face) (point-max)))
          (choose-completion))
        (set-buffer buffer)
        (when completion-in-region-mode (completion-in-region-mode -1))))
     ((equal (plist-get step :company) "begin")
      (company-manual-begin)
      (setq record (plist-put record :completions (vconcat (mapcar #'substring-no-properties company-candidates)))))
     ((equal (plist-get step :company) "accept")
      (company-complete-selection)))
    (when (bound-and-true-p company-mode)
      (setq record (plist-put record :company (vconcat (mapcar #'substring-no-properties company-candidates)))))
    (setq record (plist-put record :line (buffer-substring-no-properties (line-beginning-position)
                                                                        (line-end-position))))
    (texcite-test--say "%S -> %S %S" step (plist-get record :line) (plist-get record :completions))
    record))

(defun texcite-test--run-session (case)
  (let* ((timeout (plist-get texcite-test--spec :timeout_s))
         (record (list :name (plist-get case :name))))
    (find-file (plist-get case :file))
    (run-hooks 'post-command-hook)
    (when (plist-get case :company)  ; what `global-company-mode' does in each buffer (it skips --batch Emacs)
      (require 'company)
      (company-mode 1))
    (let ((server (texcite-test--wait "Eglot to manage the buffer" timeout
                                      (lambda () (and (eglot-managed-p) (eglot-current-server))))))
      (texcite-test--wait "texcite/status to report the index ready" timeout
                          (lambda () (texcite-test--status-ready
                                      (jsonrpc-request server :texcite/status (make-hash-table)) nil))))
    (setq record (plist-put record :key_binding (format "%s" (key-binding (kbd "C-M-i")))))
    (goto-char (point-min))
    (forward-line (plist-get case :line))
    (end-of-line)
    (save-excursion (insert (plist-get case :typed_after)))
    (setq record (plist-put record :steps (vconcat (mapcar #'texcite-test--step (plist-get case :steps)))))
    (set-buffer-modified-p nil)
    (push record texcite-test--cases)))

(condition-case err
    (progn
      (dolist (case (plist-get texcite-test--spec :cases))
        (if (plist-get case :steps)
            (texcite-test--run-session case)
          (texcite-test--run-case case)))
      (texcite-test--write nil)
      (ignore-errors (eglot-shutdown-all))
      (kill-emacs 0))
  (error
   (texcite-test--say "error: %s" (error-message-string err))
   (texcite-test--write (error-message-string err))
   (kill-emacs 3)))
