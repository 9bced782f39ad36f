//! What to deliver for a notice: keepalived's notification rules over the
//! configuration (pure).
//!
//! Per event, in keepalived's order: the state's own script
//! (`notify_master`…, `notify_up`/`notify_down`, `quorum_up`/`quorum_down`),
//! then the generic `notify` with its four arguments, then the notify FIFOs'
//! line, then the mail (not on entering FAULT with `no_email_faults`), then
//! the webhooks (an extension).

use std::collections::HashMap;

use keepalived_config::{Config, Script, VsKey};

use crate::fifo::FifoSettings;
use crate::job::{Action, FifoJob, Job, MailJob, ScriptJob, WebhookJob};
use crate::mail;
use crate::notice::{Notice, RsName, State, VsName};
use crate::script::split_command;
use crate::webhook::{self, WebhookSpec};

/// Where mails go (`notification_email`, `smtp_server`…). Absent when no
/// recipient or no server is configured: keepalived then sends nothing
/// (`smtp_alert()` returns at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// SMTP server host.
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// HELO name (`localhost` unless `smtp_helo_name`).
    pub helo: String,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email`.
    pub to: Vec<String>,
    /// `smtp_connect_timeout`, seconds.
    pub timeout_secs: u64,
}

/// A VRRP instance's or sync group's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VrrpRules {
    /// `notify`.
    pub notify: Option<Script>,
    /// `notify_master`.
    pub master: Option<Script>,
    /// `notify_backup`.
    pub backup: Option<Script>,
    /// `notify_fault`.
    pub fault: Option<Script>,
    /// `notify_stop`.
    pub stop: Option<Script>,
    /// Effective `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify_priority_changes` as resolved (instances only).
    pub notify_priority_changes: bool,
}

impl VrrpRules {
    fn for_state(&self, state: State) -> Option<&Script> {
        match state {
            State::Master => self.master.as_ref(),
            State::Backup => self.backup.as_ref(),
            State::Fault => self.fault.as_ref(),
            State::Stop => self.stop.as_ref(),
            State::Init => None,
        }
    }
}

/// A real server's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RsRules {
    /// `notify_up`.
    pub up: Option<Script>,
    /// `notify_down`.
    pub down: Option<Script>,
    /// Effective `smtp_alert`.
    pub smtp_alert: bool,
}

/// A virtual server's quorum settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VsRules {
    /// `quorum_up`.
    pub up: Option<Script>,
    /// `quorum_down`.
    pub down: Option<Script>,
    /// Effective `smtp_alert`.
    pub smtp_alert: bool,
}

/// Everything the rules need, resolved from the configuration with keepalived
/// 2.2.7's defaults.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `router_id` (the configuration's, which defaults to the host name).
    pub router_id: String,
    /// Mail, when configured.
    pub mail: Option<MailSettings>,
    /// Instances by name.
    pub instances: HashMap<String, VrrpRules>,
    /// Sync groups by name.
    pub groups: HashMap<String, VrrpRules>,
    /// Real servers.
    pub real_servers: HashMap<RsName, RsRules>,
    /// Virtual servers.
    pub virtual_servers: HashMap<VsName, VsRules>,
    /// `script_user` (user, group).
    pub script_user: Option<(String, Option<String>)>,
    /// `enable_script_security`.
    pub script_security: bool,
    /// Webhooks (command line; the configuration has no keyword for them).
    pub webhooks: Vec<WebhookSpec>,
    /// Real servers' default when no `smtp_alert` applies: keepalived 2.2.7
    /// mails real-server changes unless switched off (measured).
    pub rs_default_alert: bool,
    /// The notify FIFOs.
    pub fifos: FifoSettings,
    /// `no_email_faults`: no mail on entering FAULT.
    pub no_email_faults: bool,
}

fn protocol_word(p: keepalived_config::Protocol) -> &'static str {
    match p {
        keepalived_config::Protocol::Tcp => "tcp",
        keepalived_config::Protocol::Udp => "udp",
        keepalived_config::Protocol::Sctp => "sctp",
    }
}

fn vs_name(vs: &keepalived_config::VirtualServer) -> VsName {
    match &vs.key {
        VsKey::Addr { ip, port } => VsName::Addr {
            ip: ip.to_string(),
            port: *port,
            protocol: protocol_word(vs.protocol).to_owned(),
        },
        VsKey::Fwmark { mark } => VsName::Fwmark { mark: *mark },
        VsKey::Group { name } => VsName::Group { name: name.clone() },
    }
}

impl Settings {
    /// Settings from a loaded configuration, with no webhooks.
    pub fn from_config(config: &Config) -> Self {
        let g = &config.global_defs;
        let mail = match (&g.smtp_server, g.notification_email.is_empty()) {
            (Some(server), false) => Some(MailSettings {
                host: server.host.clone(),
                port: server.port,
                helo: if g.smtp_helo_name.is_empty() {
                    "localhost".to_owned()
                } else {
                    g.smtp_helo_name.clone()
                },
                from: g.notification_email_from.clone(),
                to: g.notification_email.clone(),
                timeout_secs: u64::from(g.smtp_connect_timeout.0),
            }),
            _ => None,
        };
        // vrrp_complete_instance: instance, else smtp_alert_vrrp, else
        // smtp_alert, else off.
        let vrrp_default = g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false);
        let instances = config
            .vrrp_instances
            .iter()
            .map(|vi| {
                let rules = VrrpRules {
                    notify: vi.notify.clone(),
                    master: vi.notify_master.clone(),
                    backup: vi.notify_backup.clone(),
                    fault: vi.notify_fault.clone(),
                    stop: vi.notify_stop.clone(),
                    smtp_alert: vi.smtp_alert.unwrap_or(vrrp_default),
                    notify_priority_changes: vi.resolved.notify_priority_changes,
                };
                (vi.name.clone(), rules)
            })
            .collect();
        let groups = config
            .vrrp_sync_groups
            .iter()
            .map(|sg| {
                let rules = VrrpRules {
                    notify: sg.notify.clone(),
                    master: sg.notify_master.clone(),
                    backup: sg.notify_backup.clone(),
                    fault: sg.notify_fault.clone(),
                    stop: sg.notify_stop.clone(),
                    smtp_alert: sg.smtp_alert.unwrap_or(vrrp_default),
                    notify_priority_changes: false,
                };
                (sg.name.clone(), rules)
            })
            .collect();
        // Checker side: smtp_alert_checker, else smtp_alert; a virtual server
        // (quorum mails) defaults off (check_data.c), a real server defaults
        // on (measured on 2.2.7: DOWN/UP mails without any smtp_alert).
        let checker_default = g.smtp_alert_checker.or(g.smtp_alert);
        let mut real_servers = HashMap::new();
        let mut virtual_servers = HashMap::new();
        for vs in &config.virtual_servers {
            let name = vs_name(vs);
            for rs in &vs.real_servers {
                real_servers.insert(
                    RsName {
                        vs: name.clone(),
                        ip: rs.ip.to_string(),
                        port: rs.port,
                    },
                    RsRules {
                        up: rs.notify_up.clone(),
                        down: rs.notify_down.clone(),
                        smtp_alert: rs.smtp_alert.or(checker_default).unwrap_or(true),
                    },
                );
            }
            virtual_servers.insert(
                name,
                VsRules {
                    up: vs.quorum_up.clone(),
                    down: vs.quorum_down.clone(),
                    smtp_alert: vs.smtp_alert.or(checker_default).unwrap_or(false),
                },
            );
        }
        Self {
            router_id: g.router_id.clone(),
            mail,
            instances,
            groups,
            real_servers,
            virtual_servers,
            script_user: g
                .script_user
                .clone()
                .map(|user| (user, g.script_group.clone())),
            script_security: g.enable_script_security,
            webhooks: Vec::new(),
            rs_default_alert: checker_default.unwrap_or(true),
            fifos: FifoSettings::from_config(config),
            no_email_faults: g.no_email_faults,
        }
    }

    /// The FIFO lines for `notice`, one job per FIFO, each FIFO its own lane
    /// (its lines in event order).
    fn fifo_jobs(&self, notice: &Notice) -> Vec<Job> {
        let Some((paths, line)) = self.fifos.route(notice) else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|path| Job {
                lane: format!("fifo:{path}"),
                destination: path.clone(),
                summary: line.trim_end().to_owned(),
                action: Action::Fifo(FifoJob {
                    path: path.clone(),
                    line: line.clone(),
                }),
            })
            .collect()
    }

    /// keepalived's `vrrp_smtp_notifier`: no mail on entering FAULT with
    /// `no_email_faults`.
    fn mails_state(&self, to: State) -> bool {
        !(self.no_email_faults && to == State::Fault)
    }

    fn script_job(&self, lane: &str, script: &Script, extra: &[String]) -> Job {
        let mut argv = split_command(&script.command);
        argv.extend_from_slice(extra);
        // A script's own user wins; otherwise script_user; otherwise
        // keepalived's default user (resolved when run).
        let (user, group) = match (&script.user, &self.script_user) {
            (Some(user), _) => (Some(user.clone()), script.group.clone()),
            (None, Some((user, group))) => (Some(user.clone()), group.clone()),
            (None, None) => (None, None),
        };
        Job {
            lane: lane.to_owned(),
            destination: script.command.clone(),
            summary: argv.join(" "),
            action: Action::Script(ScriptJob {
                argv,
                user,
                group,
                secure: self.script_security,
            }),
        }
    }

    fn mail_job(&self, subject: String, body: String) -> Option<Job> {
        let m = self.mail.as_ref()?;
        Some(Job {
            lane: format!("mail:{}:{}", m.host, m.port),
            destination: m.to.join(", "),
            summary: subject.clone(),
            action: Action::Mail(MailJob {
                server_host: m.host.clone(),
                server_port: m.port,
                helo: m.helo.clone(),
                from: m.from.clone(),
                to: m.to.clone(),
                subject,
                body,
                timeout_secs: m.timeout_secs,
            }),
        })
    }

    /// The jobs for `notice`, in delivery order. `context` is what webhooks
    /// add to their payload (time, trace id, cause).
    pub fn jobs_for(&self, notice: &Notice, context: &webhook::Context) -> Vec<Job> {
        let mut jobs = Vec::new();
        match notice {
            Notice::Instance {
                name, to, priority, ..
            } => {
                if let Some(rules) = self.instances.get(name) {
                    let lane = format!("script:instance:{name}");
                    if let Some(script) = rules.for_state(*to) {
                        jobs.push(self.script_job(&lane, script, &[]));
                    }
                    if let Some(script) = &rules.notify {
                        // notify_script_exec: INSTANCE NAME STATE PRIORITY.
                        let extra = [
                            "INSTANCE".to_owned(),
                            name.clone(),
                            to.word().to_owned(),
                            priority.to_string(),
                        ];
                        jobs.push(self.script_job(&lane, script, &extra));
                    }
                    jobs.extend(self.fifo_jobs(notice));
                    if rules.smtp_alert
                        && self.mails_state(*to)
                        && let Some((subject, body)) = mail::instance(&self.router_id, name, *to)
                    {
                        jobs.extend(self.mail_job(subject, body));
                    }
                }
            }
            // vrrp_track.c `vrrp_set_effective_priority`: the FIFO line only.
            Notice::Priority { name, .. } => {
                if self
                    .instances
                    .get(name)
                    .is_some_and(|r| r.notify_priority_changes)
                {
                    jobs.extend(self.fifo_jobs(notice));
                }
            }
            Notice::Group { name, to, .. } => {
                if let Some(rules) = self.groups.get(name) {
                    let lane = format!("script:group:{name}");
                    if let Some(script) = rules.for_state(*to) {
                        jobs.push(self.script_job(&lane, script, &[]));
                    }
                    if let Some(script) = &rules.notify {
                        // A group's priority is given as 0.
                        let extra = [
                            "GROUP".to_owned(),
                            name.clone(),
                            to.word().to_owned(),
                            "0".to_owned(),
                        ];
                        jobs.push(self.script_job(&lane, script, &extra));
                    }
                    jobs.extend(self.fifo_jobs(notice));
                    if rules.smtp_alert
                        && self.mails_state(*to)
                        && let Some((subject, body)) = mail::group(&self.router_id, name, *to)
                    {
                        jobs.extend(self.mail_job(subject, body));
                    }
                }
            }
            Notice::RealServer {
                rs,
                up,
                reason,
                mail_body,
                ..
            } => {
                let rules = self.real_servers.get(rs);
                let lane = format!("script:rs:{} {}", rs.vs, rs);
                if let Some(script) = rules.and_then(|r| if *up { &r.up } else { &r.down }.as_ref())
                {
                    jobs.push(self.script_job(&lane, script, &[]));
                }
                jobs.extend(self.fifo_jobs(notice));
                let alert = rules.map_or(self.rs_default_alert, |r| r.smtp_alert);
                if alert
                    && let Some((subject, body)) =
                        mail::real_server(&self.router_id, rs, *up, mail_body.as_deref(), reason)
                {
                    jobs.extend(self.mail_job(subject, body));
                }
            }
            Notice::Quorum {
                vs,
                up,
                quorum,
                hysteresis,
                alive_weight,
            } => {
                if let Some(rules) = self.virtual_servers.get(vs) {
                    let lane = format!("script:vs:{vs}");
                    if let Some(script) = if *up { &rules.up } else { &rules.down } {
                        jobs.push(self.script_job(&lane, script, &[]));
                    }
                    jobs.extend(self.fifo_jobs(notice));
                    if rules.smtp_alert {
                        let (subject, body) = mail::quorum(
                            &self.router_id,
                            vs,
                            *up,
                            *quorum,
                            *hysteresis,
                            *alive_weight,
                        );
                        jobs.extend(self.mail_job(subject, body));
                    }
                }
            }
        }
        for hook in self.webhooks.iter().filter(|h| h.wants(notice.kind())) {
            jobs.push(Job {
                lane: format!("webhook:{}", hook.url),
                destination: hook.url.clone(),
                summary: webhook::summary(notice),
                action: Action::Webhook(WebhookJob {
                    url: hook.url.clone(),
                    body: webhook::payload(notice, &self.router_id, context),
                    secret_file: hook.secret_file.clone(),
                    ca_file: hook.ca_file.clone(),
                }),
            });
        }
        jobs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"
global_defs {
    notification_email { root@localhost }
    notification_email_from keepalived@localhost
    smtp_server 127.0.0.1 2525
    smtp_connect_timeout 30
    router_id keepalivedR1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 3
    priority 99
    virtual_ipaddress { 198.51.100.120/24 }
    notify_master "/etc/keepalived/notify.sh master"
    notify_backup "/etc/keepalived/notify.sh backup"
    notify_fault "/etc/keepalived/notify.sh fault"
    notify "/usr/local/bin/generic 'two words'"
}
virtual_server 198.51.100.10 80 {
    protocol TCP
    quorum_up "/bin/up"
    real_server 203.0.113.12 80 {
        notify_down "/bin/rs-down now"
        TCP_CHECK { connect_timeout 2 }
    }
}
"#;

    fn settings(text: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keepalived.conf");
        std::fs::write(&path, text).unwrap();
        let loaded = keepalived_config::load_file(&path, &Default::default()).unwrap();
        Settings::from_config(&loaded.config)
    }

    fn context() -> webhook::Context {
        webhook::Context::default()
    }

    fn transition(to: State) -> Notice {
        Notice::Instance {
            name: "VI_1".into(),
            from: State::Backup,
            to,
            priority: 99,
        }
    }

    fn argvs(jobs: &[Job]) -> Vec<Vec<String>> {
        jobs.iter()
            .filter_map(|j| match &j.action {
                Action::Script(s) => Some(s.argv.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_master_transition_runs_notify_master_then_generic_notify_and_no_mail_without_smtp_alert() {
        let s = settings(SEED);
        let jobs = s.jobs_for(&transition(State::Master), &context());
        assert_eq!(
            argvs(&jobs),
            vec![
                vec!["/etc/keepalived/notify.sh", "master"],
                vec![
                    "/usr/local/bin/generic",
                    "two words",
                    "INSTANCE",
                    "VI_1",
                    "MASTER",
                    "99"
                ],
            ]
        );
        assert!(jobs.iter().all(|j| j.lane == "script:instance:VI_1"));
        assert!(!jobs.iter().any(|j| matches!(j.action, Action::Mail(_))));
    }

    #[test]
    fn smtp_alert_global_or_vrrp_switches_vrrp_mails_on() {
        for switch in ["smtp_alert", "smtp_alert_vrrp"] {
            let s = settings(&SEED.replace(
                "router_id keepalivedR1",
                &format!("router_id keepalivedR1\n    {switch}"),
            ));
            let jobs = s.jobs_for(&transition(State::Backup), &context());
            let mails: Vec<_> = jobs
                .iter()
                .filter_map(|j| match &j.action {
                    Action::Mail(m) => Some(m),
                    _ => None,
                })
                .collect();
            assert_eq!(mails.len(), 1, "{switch}");
            assert_eq!(
                mails[0].subject,
                "[keepalivedR1] VRRP Instance VI_1 - Entering BACKUP state"
            );
            assert_eq!(
                (mails[0].server_port, mails[0].helo.as_str()),
                (2525, "localhost")
            );
            // No mail when stopping, though notify_stop-less scripts still
            // get the generic notify with STOP.
            let stop = s.jobs_for(&transition(State::Stop), &context());
            assert!(!stop.iter().any(|j| matches!(j.action, Action::Mail(_))));
            assert_eq!(argvs(&stop)[0][4], "STOP");
        }
    }

    #[test]
    fn real_server_mails_default_on_and_smtp_alert_checker_off_stops_them() {
        let notice = Notice::RealServer {
            rs: RsName {
                vs: VsName::Addr {
                    ip: "198.51.100.10".into(),
                    port: 80,
                    protocol: "tcp".into(),
                },
                ip: "203.0.113.12".into(),
                port: 80,
            },
            up: false,
            reason: "HTTP request failed".into(),
            checker: "HTTP_CHECK".into(),
            mail_body: None,
        };
        let jobs = settings(SEED).jobs_for(&notice, &context());
        assert_eq!(argvs(&jobs), vec![vec!["/bin/rs-down", "now"]]);
        let Action::Mail(mail) = &jobs[1].action else {
            panic!("{jobs:?}")
        };
        assert_eq!(
            mail.subject,
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN"
        );
        assert_eq!(
            mail.body,
            "=> CHECK failed on service : HTTP request failed <="
        );
        let off = settings(&SEED.replace(
            "router_id keepalivedR1",
            "router_id keepalivedR1\n    smtp_alert_checker off",
        ));
        assert!(
            !off.jobs_for(&notice, &context())
                .iter()
                .any(|j| matches!(j.action, Action::Mail(_)))
        );
    }

    #[test]
    fn a_real_server_mail_carries_the_checkers_words_and_none_for_file_check() {
        let notice = |mail_body: &str| Notice::RealServer {
            rs: RsName {
                vs: VsName::Addr {
                    ip: "198.51.100.10".into(),
                    port: 80,
                    protocol: "tcp".into(),
                },
                ip: "203.0.113.12".into(),
                port: 80,
            },
            up: false,
            reason: "connection refused".into(),
            checker: "TCP_CHECK".into(),
            mail_body: Some(mail_body.into()),
        };
        let jobs =
            settings(SEED).jobs_for(&notice("=> TCP CHECK failed on service <="), &context());
        let mails: Vec<_> = jobs
            .iter()
            .filter_map(|j| match &j.action {
                Action::Mail(m) => Some(m.body.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(mails, ["=> TCP CHECK failed on service <="]);
        // FILE_CHECK: keepalived mails nothing (track_file.c), the script still runs.
        let jobs = settings(SEED).jobs_for(&notice(""), &context());
        assert_eq!(argvs(&jobs), vec![vec!["/bin/rs-down", "now"]]);
        assert!(!jobs.iter().any(|j| matches!(j.action, Action::Mail(_))));
    }

    #[test]
    fn quorum_runs_its_script_but_mails_only_with_smtp_alert() {
        let notice = Notice::Quorum {
            vs: VsName::Addr {
                ip: "198.51.100.10".into(),
                port: 80,
                protocol: "tcp".into(),
            },
            up: true,
            quorum: 1,
            hysteresis: 0,
            alive_weight: 1,
        };
        let jobs = settings(SEED).jobs_for(&notice, &context());
        assert_eq!(argvs(&jobs), vec![vec!["/bin/up"]]);
        assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn the_fifo_line_comes_after_the_scripts_and_before_the_mail_in_its_own_lane() {
        let s = settings(&SEED.replace(
            "router_id keepalivedR1",
            "router_id keepalivedR1\n    smtp_alert\n    notify_fifo /run/k.fifo",
        ));
        let jobs = s.jobs_for(&transition(State::Master), &context());
        let channels: Vec<_> = jobs.iter().map(|j| j.action.channel()).collect();
        use keepalived_api::v1::Channel;
        assert_eq!(
            channels,
            [
                Channel::Script,
                Channel::Script,
                Channel::Fifo,
                Channel::Mail
            ]
        );
        let Action::Fifo(f) = &jobs[2].action else {
            panic!()
        };
        assert_eq!(
            (f.path.as_str(), f.line.as_str(), jobs[2].lane.as_str()),
            (
                "/run/k.fifo",
                "INSTANCE \"VI_1\" MASTER 99\n",
                "fifo:/run/k.fifo"
            )
        );
    }

    #[test]
    fn priority_changes_reach_the_fifos_only_with_notify_priority_changes() {
        let fifo = "router_id keepalivedR1\n    smtp_alert\n    notify_fifo /run/k.fifo";
        let change = |master| Notice::Priority {
            name: "VI_1".into(),
            master,
            priority: 84,
        };
        // Off by default: nothing at all (keepalived writes, runs and mails nothing).
        let off = settings(&SEED.replace("router_id keepalivedR1", fifo));
        assert!(off.jobs_for(&change(true), &context()).is_empty());
        // The global default, and only the FIFO line: no script, no mail.
        let on = settings(&SEED.replace(
            "router_id keepalivedR1",
            &format!("{fifo}\n    vrrp_notify_priority_changes"),
        ));
        let lines: Vec<_> = [true, false]
            .into_iter()
            .flat_map(|master| on.jobs_for(&change(master), &context()))
            .map(|j| match j.action {
                Action::Fifo(f) => f.line,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            lines,
            [
                "INSTANCE \"VI_1\" MASTER_PRIORITY 84\n",
                "INSTANCE \"VI_1\" BACKUP_PRIORITY 84\n"
            ]
        );
        // The instance's own `notify_priority_changes false` wins over the global.
        let instance_off = settings(
            &SEED
                .replace(
                    "router_id keepalivedR1",
                    &format!("{fifo}\n    vrrp_notify_priority_changes"),
                )
                .replace(
                    "    interface eth0\n",
                    "    interface eth0\n    notify_priority_changes false\n",
                ),
        );
        assert!(instance_off.jobs_for(&change(true), &context()).is_empty());
    }

    #[test]
    fn no_email_faults_stops_only_the_fault_mail() {
        let s = settings(&SEED.replace(
            "router_id keepalivedR1",
            "router_id keepalivedR1\n    smtp_alert\n    no_email_faults",
        ));
        let mails = |to| {
            s.jobs_for(&transition(to), &context())
                .iter()
                .filter(|j| matches!(j.action, Action::Mail(_)))
                .count()
        };
        assert_eq!((mails(State::Fault), mails(State::Backup)), (0, 1));
    }

    #[test]
    fn no_mail_without_recipients_or_server() {
        let s = settings(&SEED.replace("smtp_server 127.0.0.1 2525", ""));
        assert_eq!(s.mail, None);
    }
}
