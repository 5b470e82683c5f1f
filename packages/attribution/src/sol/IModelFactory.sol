// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The ModelFactory jobs system module (native precompile) of OpenLedger.
address constant MODEL_FACTORY_ADDRESS = 0x4F50454e00000000000000000000000000000006;

/// @title IModelFactory
/// @notice Paid fine-tuning jobs: a requester escrows OPEN for an adapter of a registered base model
/// trained on named datanet versions with a training config fixed by its hash; a trainer claims the
/// job, trains, registers the adapter (Models.registerAdapter) and submits it. The trainer is paid
/// when the requester accepts, or by anyone after the review period if nobody challenged. A
/// challenge (requester only, with a bond) freezes the payment until the arbiter rules; the chain
/// cannot re-run a training, so the arbiter (genesis: the Governance module) decides from the
/// off-chain `openledger model verify` result. Unsubmitted jobs are refunded after their deadline.
/// @custom:address 0x4f50454e00000000000000000000000000000006
interface IModelFactory {
    struct DatanetRef {
        uint256 datanetId;
        uint64 version;
    }

    struct JobSpec {
        uint256 baseModelId;
        DatanetRef[] datanets;
        /// @notice keccak256 of the canonical training config the adapter must be trained with.
        bytes32 trainingConfigHash;
        /// @notice Unix time by which the adapter must be submitted.
        uint64 deadline;
        /// @notice Seconds after submission during which the requester may challenge.
        uint64 reviewPeriod;
        /// @notice The training config itself (keccak256 = trainingConfigHash), for trainers; kept
        /// in the call data and the JobPosted event, not in storage.
        bytes config;
    }

    struct JobInfo {
        uint256 id;
        address requester;
        address trainer;
        /// @notice 1 open, 2 claimed, 3 submitted, 4 challenged, 5 paid, 6 refunded.
        uint8 status;
        uint256 baseModelId;
        bytes32 trainingConfigHash;
        uint256 payment;
        uint64 deadline;
        uint64 reviewPeriod;
        uint64 submittedAt;
        uint256 modelId;
        uint256 challengeBond;
        uint64 createdAtBlock;
        DatanetRef[] datanets;
    }

    event JobPosted(
        uint256 indexed jobId,
        address indexed requester,
        uint256 indexed baseModelId,
        bytes32 trainingConfigHash,
        uint256 payment,
        uint64 deadline,
        uint64 reviewPeriod,
        DatanetRef[] datanets,
        bytes config
    );
    event JobClaimed(uint256 indexed jobId, address indexed trainer);
    event JobSubmitted(uint256 indexed jobId, uint256 indexed modelId, bytes32 artifactHash);
    event JobChallenged(uint256 indexed jobId, address indexed challenger, uint256 bond, bytes32 evidenceHash);
    event JobResolved(uint256 indexed jobId, bool adapterValid);
    event JobPaid(uint256 indexed jobId, address indexed trainer, uint256 amount);
    event JobRefunded(uint256 indexed jobId, address indexed requester, uint256 amount);

    error WriteProtection();
    error NonPayable(uint256 value);
    error UnknownSelector(bytes4 selector);
    error MalformedCalldata();
    error TooManyItems(uint256 count, uint256 max);
    error JobNotFound(uint256 jobId);
    error WrongJobStatus(uint256 jobId, uint8 status);
    error NotRequester(uint256 jobId, address caller);
    error NotTrainer(uint256 jobId, address caller);
    error NotArbiter(address caller);
    error NoPayment();
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    error DeadlineNotPassed(uint256 jobId, uint64 deadline);
    error ReviewPeriodOver(uint256 jobId);
    error ReviewPeriodNotOver(uint256 jobId);
    error BadDeadline(uint64 deadline);
    error BadReviewPeriod(uint64 reviewPeriod);
    error WrongBond(uint256 sent, uint256 required);
    error NotABaseModel(uint256 modelId);
    error DatanetVersionNotFound(uint256 datanetId, uint64 version);
    error DuplicateDatanetVersion(uint256 datanetId, uint64 version);
    error NoTrainingData();
    error ConfigHashMismatch(bytes32 expected, bytes32 actual);
    error ModelNotFound(uint256 modelId);
    /// @notice The submitted model does not match the job (its owner, kind, base, config hash or data).
    error AdapterMismatch(uint256 jobId, uint256 modelId, string field);

    /// @notice Posts a job; msg.value is the payment, escrowed by this module.
    function postJob(JobSpec calldata spec) external payable returns (uint256 jobId);
    /// @notice The first caller before the deadline becomes the job's trainer.
    function claimJob(uint256 jobId) external;
    /// @notice The trainer submits the adapter it registered (model version 1) before the deadline.
    function submitJob(uint256 jobId, uint256 modelId) external;
    /// @notice The requester accepts a submitted adapter: the trainer is paid at once.
    function acceptJob(uint256 jobId) external;
    /// @notice Anyone, once the review period of an unchallenged submission is over: pays the trainer.
    function finalizeJob(uint256 jobId) external;
    /// @notice The requester disputes a submission within the review period, posting the bond
    /// (msg.value = challengeBondBps of the payment); evidenceHash names the failed verification.
    function challengeJob(uint256 jobId, bytes32 evidenceHash) external payable;
    /// @notice The arbiter rules on a challenge: a valid adapter pays the trainer the payment and the
    /// bond; an invalid one refunds the requester both.
    function resolveJob(uint256 jobId, bool adapterValid) external;
    /// @notice Anyone, after the deadline of an open or claimed (unsubmitted) job: refunds the requester.
    function refundJob(uint256 jobId) external;

    function jobCount() external view returns (uint256);
    function getJob(uint256 jobId) external view returns (JobInfo memory);
    /// @notice The arbiter address and the challenge bond in basis points of the payment.
    function jobParams() external view returns (address arbiter, uint16 challengeBondBps);
}
