#compdef xrun
# zsh completion for xrun. Candidates come from `xrun __complete`, which reads the command
# line's definition, the experiment's source and the archive's index (it never starts Python).
_xrun() {
    local -a lines candidates
    lines=("${(@f)$(xrun __complete "${(@Q)words[2,CURRENT]}" 2>/dev/null)}")
    case "${lines[1]}" in
    :dirs)
        _files -/
        ;;
    :files*)
        local -a extensions
        extensions=(${=${lines[1]#:files}})
        if (( ${#extensions} )); then
            _files -g "*.(${(j:|:)extensions})"
        else
            _files
        fi
        ;;
    *)
        local line
        for line in "${lines[@]}"; do
            [[ -z $line ]] && continue
            if [[ $line == *$'\t'* ]]; then
                candidates+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
            else
                candidates+=("${line//:/\\:}")
            fi
        done
        _describe -t values 'xrun' candidates
        ;;
    esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _xrun "$@"
else
    compdef _xrun xrun
fi
