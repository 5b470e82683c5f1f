// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The Attribution (Proof-of-Attribution) system module (native precompile) of OpenLedger.
address constant ATTRIBUTION_ADDRESS = 0x4F50454e00000000000000000000000000000003;

/// @title IAttribution
/// @notice Settles paid inferences: verifies the provider-signed EIP-712 receipt, splits the fee
/// among protocol treasury, stakers pool, model owner (and parent royalty) and data contributors,
/// and keeps pull-based reward balances.
/// @custom:address 0x4f50454e00000000000000000000000000000003
interface IAttribution {
    /// @notice Credit for one datanet version. `weight` is in millionths of the contributors' part
    /// (all entries sum to 1,000,000). With named contributions, their weights also sum to
    /// 1,000,000 and the entry's amount goes to those contributions' contributors; without, it goes
    /// to the holders of the shares of the contributions that version holds (versions <= it), in
    /// proportion to their weights at publication.
    struct Entry {
        uint256 datanetId;
        uint64 datanetVersion;
        uint32 weight;
        uint64[] contributionIds;
        uint32[] contributionWeights;
    }

    /// @notice EIP-712 typed data signed by the model's provider. Domain: name "OpenLedger Attribution",
    /// version "1", chainId, verifyingContract = ATTRIBUTION_ADDRESS.
    struct InferenceReceipt {
        uint256 modelId;
        uint32 modelVersion;
        bytes32 inputHash;
        bytes32 outputHash;
        Entry[] entries;
        uint256 nonce;
        uint64 deadline;
        /// @notice address(0): anyone may settle; else only this account.
        address payer;
        uint256 fee;
        bytes32 attributionCommitment;
    }

    struct ReceiptInfo {
        bytes32 receiptId;
        uint256 modelId;
        uint32 modelVersion;
        address payer;
        uint256 fee;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 attributionCommitment;
        uint256 nonce;
        uint64 settledAtBlock;
    }

    /// @notice Every governable parameter of the Datanets, Models and Attribution modules (genesis
    /// values until Governance sets one; see docs/attribution-modules.md).
    struct Parameters {
        address treasury;
        address stakersPool;
        uint16 protocolBps;
        uint16 stakersBps;
        uint16 providerBps;
        uint16 ownerBps;
        uint16 minOwnerBps;
        uint16 maxOwnerBps;
        uint16 parentRoyaltyBps;
        uint8 maxLineageDepth;
        uint16 maxWeightShareBps;
        uint32 maxVersionBatch;
        uint16 spanK;
        uint64 challengeWindow;
        uint64 revealWindow;
        uint64 maxResolvableBytes;
        uint256 minProviderBond;
        uint256 challengerBond;
        uint16 challengerRewardBps;
        uint16 slashBps;
    }

    /// @notice A receipt settled with a challenge window. state: 0 credited at settlement (no window),
    /// 1 pending (challengeable until windowEnds), 2 challenged (output due by revealDeadline),
    /// 3 finalized (credited as signed), 4 corrected (credited by the recomputed entries).
    struct ChallengeInfo {
        uint8 state;
        uint64 windowEnds;
        uint64 revealDeadline;
        uint64 creditedAtBlock;
        address signer;
        address challenger;
        uint256 bond;
    }

    struct SplitParams {
        address treasury;
        address stakersPool;
        uint16 protocolBps;
        uint16 stakersBps;
        uint16 minOwnerBps;
        uint16 maxOwnerBps;
        uint16 parentRoyaltyBps;
        uint32 weightDenominator;
    }

    event InferenceSettled(
        bytes32 indexed receiptId,
        uint256 indexed modelId,
        address indexed payer,
        uint32 modelVersion,
        uint256 fee,
        bytes32 inputHash,
        bytes32 outputHash,
        bytes32 attributionCommitment,
        uint256 nonce
    );
    /// @notice How the fee was split; the six parts sum to the fee. Every level is apportioned
    /// exactly (largest remainder; pro-rata pools carry sub-wei remainders), so `dust` is 0; it is
    /// kept for ABI compatibility (it was credited to the treasury with `protocol`).
    event FeeSplit(
        bytes32 indexed receiptId,
        uint256 protocol,
        uint256 stakers,
        uint256 owner,
        uint256 parentRoyalty,
        uint256 contributors,
        uint256 dust
    );
    /// @notice The contributors' amount credited for one entry (to shareholders or named contributions).
    event AttributionPaid(bytes32 indexed receiptId, uint256 indexed datanetId, uint64 indexed datanetVersion, uint256 amount);
    /// @notice A datanet-level entry's amount went to the pool of `version`: every share of a
    /// version <= `version` earned `rewardIndexIncrease` / 2^64 wei (the pool carries the rest).
    event VersionPoolPaid(
        bytes32 indexed receiptId,
        uint256 indexed datanetId,
        uint64 indexed version,
        uint256 amount,
        uint256 rewardIndexIncrease
    );
    event ContributionPaid(
        bytes32 indexed receiptId, uint256 indexed datanetId, uint256 indexed contributionId, address contributor, uint256 amount
    );
    event RewardsClaimed(address indexed account, uint256 amount);
    /// @notice The model's provider's part of a fee (`providerBps`; not emitted when it is 0).
    event ProviderPaid(bytes32 indexed receiptId, address indexed provider, uint256 amount);
    event ParameterSet(bytes32 indexed name, uint256 newValue);
    event ProviderBonded(address indexed provider, uint256 amount, uint256 bond);
    event ProviderUnbonded(address indexed provider, uint256 amount, uint256 bond);
    /// @notice With a challenge window, a settled receipt's fee is credited only when it is
    /// finalized after `windowEnds` (or when a challenge of it is resolved).
    event SettlementDeferred(bytes32 indexed receiptId, uint64 windowEnds);
    event ReceiptChallenged(bytes32 indexed receiptId, address indexed challenger, uint256 bond, uint64 revealDeadline);
    /// @notice `providerAtFault`: the revealed output did not give the signed attribution (or was not
    /// revealed); the fee went by the recomputed entries, `slashed` of the provider's bond was taken,
    /// `challengerReward` of it to the challenger (with its bond back) and the rest to the contributors.
    /// Otherwise the challenger's bond went to the provider.
    event ChallengeResolved(
        bytes32 indexed receiptId,
        bool providerAtFault,
        bool revealed,
        bytes32 recomputedCommitment,
        uint256 slashed,
        uint256 challengerReward
    );

    error WriteProtection();
    error NonPayable(uint256 value);
    error UnknownSelector(bytes4 selector);
    error MalformedCalldata();
    error TooManyItems(uint256 count, uint256 max);
    error ModelNotFound(uint256 modelId);
    error ModelVersionNotFound(uint256 modelId, uint32 version);
    error WrongValue(uint256 value, uint256 fee);
    error FeeBelowMinimum(uint256 fee, uint256 minimum);
    error WrongPayer(address payer, address caller);
    error ReceiptExpired(uint64 deadline, uint64 timestamp);
    error InvalidSignature();
    error MalleableSignature();
    error InvalidSigner(address expected, address recovered);
    error ReceiptAlreadySettled(bytes32 receiptId);
    error NonceAlreadyUsed(uint256 modelId, uint256 nonce);
    error NoEntries();
    error WeightsDoNotSumToTotal(uint256 sum, uint256 total);
    error ContributionWeightsDoNotSumToTotal(uint256 entryIndex, uint256 sum, uint256 total);
    error LengthMismatch(uint256 entryIndex, uint256 ids, uint256 weights);
    error DatanetVersionNotDeclared(uint256 modelId, uint32 modelVersion, uint256 datanetId, uint64 datanetVersion);
    error ContributionNotInVersion(uint256 datanetId, uint64 datanetVersion, uint64 contributionId);
    error NothingToClaim(address account);
    error ReceiptNotFound(bytes32 receiptId);
    error OnlyGovernance(address caller);
    error UnknownParameter(bytes32 name);
    error InvalidParameter(bytes32 name, uint256 value, string reason);
    error ProviderNotBonded(address provider, uint256 bond, uint256 required);
    /// @notice The bond is locked until its receipts' challenge windows close and challenges resolve.
    error BondLocked(address provider, uint64 lockedUntil, uint32 openChallenges);
    error InsufficientBond(address provider, uint256 bond, uint256 amount);
    error ReceiptNotPending(bytes32 receiptId, uint8 state);
    error ChallengeWindowOpen(bytes32 receiptId, uint64 windowEnds);
    error ChallengeWindowClosed(bytes32 receiptId, uint64 windowEnds);
    error WrongBond(uint256 value, uint256 bond);
    /// @notice The model version's corpus holds content the chain cannot read (by hash only, or not
    /// UTF-8 text), or two versions of one datanet.
    error NotRecomputable(uint256 datanetId, uint64 version);
    error CorpusTooLarge(uint256 corpusBytes, uint256 maxBytes);
    /// @notice Re-running the corpus could cost more than one transaction may use (EIP-7825): the
    /// provider could not answer, so the receipt cannot be challenged.
    error ResolutionTooExpensive(uint256 gasBound, uint256 maxGas);
    error NotChallenged(bytes32 receiptId, uint8 state);
    error RevealTooLate(bytes32 receiptId, uint64 revealDeadline);
    error RevealWindowOpen(bytes32 receiptId, uint64 revealDeadline);
    error OutputMismatch(bytes32 outputHash, bytes32 actual);
    error OutputNotText();
    /// @notice The corpus holds content submitted in the block being executed: the chain's history
    /// (which the re-run reads) has it from the next block on. Reveal again in a later block.
    error ContentNotYetInHistory(uint256 datanetId, uint64 contributionId, uint64 submittedAtBlock);

    /// @notice Pays `receipt.fee` (msg.value must equal it) for an inference and splits it.
    /// `signature` is the provider's 65-byte r||s||v EIP-712 signature (low-s only).
    function settle(InferenceReceipt calldata receipt, bytes calldata signature) external payable returns (bytes32 receiptId);

    /// @notice Pays msg.sender everything accrued to it, including its datanet shares' rewards.
    function claim() external returns (uint256 amount);

    function claimable(address holder) external view returns (uint256);
    function getReceipt(bytes32 receiptId) external view returns (ReceiptInfo memory);
    function receiptDigest(InferenceReceipt calldata receipt) external view returns (bytes32);
    function isNonceUsed(uint256 modelId, uint256 nonce) external view returns (bool);
    /// @notice Cumulative wei per share earned by share token `id` (a bare datanet id: its version-1
    /// shares), rounded down; `rewardIndex` is the exact value ×2^64.
    function rewardPerShare(uint256 id) external view returns (uint256);
    function rewardIndex(uint256 shareTokenId) external view returns (uint256);
    function splitParams() external view returns (SplitParams memory);

    /// @notice Adds msg.value to the caller's provider bond. A model's receipts settle only while its
    /// provider's bond is at least `minProviderBond`.
    function bondProvider() external payable returns (uint256 bond);
    /// @notice Withdraws from the caller's bond once every challenge window of its receipts has
    /// closed and no challenge of them is open.
    function unbondProvider(uint256 amount) external returns (uint256 bond);
    function providerBond(address provider)
        external
        view
        returns (uint256 bond, uint64 lockedUntil, uint32 openChallenges);
    /// @notice After the challenge window of an unchallenged receipt: credits its fee as signed. Anyone
    /// may call it, with the receipt as settled (its digest is the receipt id).
    function finalize(InferenceReceipt calldata receipt) external returns (bytes32 receiptId);
    /// @notice Within a receipt's challenge window, with msg.value = `challengerBond`: asks its
    /// provider to reveal the output, which the chain then re-runs attribution over.
    function challenge(bytes32 receiptId) external payable;
    /// @notice Reveals a challenged receipt's output (anyone holding it may): the chain re-runs span
    /// attribution over the model version's corpus and resolves the challenge.
    function reveal(InferenceReceipt calldata receipt, bytes calldata output) external returns (bool providerAtFault);
    /// @notice After the reveal deadline of a challenge nobody answered: the provider is at fault; the
    /// fee goes by the corpus's fallback weights.
    function resolveUnrevealed(InferenceReceipt calldata receipt) external;
    function getChallenge(bytes32 receiptId) external view returns (ChallengeInfo memory);

    /// @notice Governance only (msg.sender = 0x4f50454e…0005): sets one parameter by name (ASCII,
    /// left-aligned, e.g. "protocolBps"); addresses as uint160. Range and the relations between
    /// parameters are checked on the whole new set.
    function setParameter(bytes32 name, uint256 newValue) external;
    function getParameter(bytes32 name) external view returns (uint256);
    function parameters() external view returns (Parameters memory);
}
