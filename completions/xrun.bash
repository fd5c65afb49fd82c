# bash completion for xrun. Candidates come from `xrun __complete`, which reads the command
# line's definition, the experiment's source and the archive's index (it never starts Python).
_xrun() {
    local current=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n'
    local lines
    lines=($(xrun __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    COMPREPLY=()
    case "${lines[0]}" in
    ":dirs")
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$current"))
        ;;
    ":files"*)
        compopt -o filenames 2>/dev/null
        local extensions=${lines[0]#:files}
        local path
        for path in $(compgen -f -- "$current"); do
            if [[ -d $path ]]; then
                COMPREPLY+=("$path")
            elif [[ -z $extensions ]]; then
                COMPREPLY+=("$path")
            else
                local extension
                for extension in ${extensions// /$'\n'}; do
                    [[ $path == *."$extension" ]] && COMPREPLY+=("$path")
                done
            fi
        done
        ;;
    *)
        local line
        for line in "${lines[@]}"; do
            COMPREPLY+=("${line%%$'\t'*}")
        done
        ;;
    esac
}
complete -F _xrun xrun
